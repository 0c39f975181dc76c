// varg render FILE.tsx: Cloud Render (SPEC 10): the composition is sent, the render job polled to
// its end, and its output URL printed or downloaded.
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "cli/job_output.h"
#include "cli/output.h"

namespace varg::cli {
namespace {

struct RenderOptions {
  std::string file, mode, output;
  int timeout = 1800;
};

int render(const Context& ctx, const RenderOptions& o) {
  std::ifstream in(o.file);
  if (!in) return fail("cannot read " + o.file);
  std::stringstream code;
  code << in.rdbuf();
  json req = {{"code", code.str()}};
  if (!o.mode.empty()) req["mode"] = o.mode;
  auto c = ctx.authenticated();
  if (!c.ok()) return fail(c.error());
  auto started = c->render(req);
  if (!started.ok()) return fail(started.error());
  auto done = c->wait_render(*started, std::chrono::seconds(o.timeout), progress_line());
  clear_progress_line();
  if (!done.ok()) return fail(done.error());
  return finish_job(ctx, *c, *done, o.output, !o.output.empty());
}

}  // namespace

void add_render_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<RenderOptions>();
  CLI::App* cmd = command(app, "render", "Render a varg TSX composition in the cloud", ctx);
  cmd->add_option("FILE", o->file, "The composition (export default <Render>...</Render>)")->required()->check(
      CLI::ExistingFile);
  cmd->add_option("--mode", o->mode, "strict or preview")->check(CLI::IsMember({"strict", "preview"}));
  cmd->add_option("-o,--output", o->output, "Download the rendered file here");
  cmd->add_option("--timeout", o->timeout, "Seconds to wait for the render")->capture_default_str();
  on_run(cmd, ctx, [&ctx, o] { return render(ctx, *o); });
}

}  // namespace varg::cli
