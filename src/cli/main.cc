// varg: the command line for the varg gateway (SPEC 8).
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace varg::cli;
  Context ctx;
  CLI::App app{
      "varg: generate images, video, speech and music through a varg gateway.\n"
      "Key: VARG_API_KEY, else ./.env, else ~/.varg/credentials (see `varg login`).\n"
      "Addresses: VARG_GATEWAY_URL and VARG_APP_URL (default http://127.0.0.1:8080).",
      "varg"};
  app.require_subcommand(1);
  add_login_commands(app, ctx);
  add_account_commands(app, ctx);
  add_topup_command(app, ctx);
  add_key_commands(app, ctx);
  add_provider_key_commands(app, ctx);
  add_generation_commands(app, ctx);
  add_render_command(app, ctx);
  add_job_commands(app, ctx);
  add_ffmpeg_commands(app, ctx);
  add_mcp_command(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return ctx.exit_code;
}
