// Each file adds one family of varg commands to the command line.
#pragma once
#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace varg::cli {

void add_login_commands(CLI::App& app, Context& ctx);       // login, logout
void add_account_commands(CLI::App& app, Context& ctx);     // balance, usage
void add_topup_command(CLI::App& app, Context& ctx);        // topup
void add_key_commands(CLI::App& app, Context& ctx);         // set/show/create/delete/reset (Vast style)
void add_provider_key_commands(CLI::App& app, Context& ctx);  // provider-keys set|list|delete
void add_generation_commands(CLI::App& app, Context& ctx);  // image, video, speech, music, transcribe
void add_render_command(CLI::App& app, Context& ctx);       // render FILE.tsx
void add_job_commands(CLI::App& app, Context& ctx);         // models, jobs, retry, estimate
void add_ffmpeg_commands(CLI::App& app, Context& ctx);      // ffmpeg trim|resize|slice|probe|run
void add_mcp_command(CLI::App& app, Context& ctx);          // mcp: the gateway's MCP tools over stdio

}  // namespace varg::cli
