#include "cli/context.h"

#include "cli/output.h"

namespace varg::cli {

Client Context::with_key(const std::string& api_key) const {
  client::ClientOptions o;
  o.endpoints = endpoints;
  o.api_key = api_key;
  return Client(o);
}

Result<Client> Context::authenticated() const {
  auto creds = client::find_credentials();
  if (!creds.ok()) return creds.error();
  return with_key(creds->api_key);
}

CLI::App* command(CLI::App& parent, const std::string& name, const std::string& description, Context& ctx) {
  CLI::App* cmd = parent.add_subcommand(name, description);
  cmd->add_flag("--json", ctx.json, "Print the server's JSON answer instead of text");
  return cmd;
}

void on_run(CLI::App* cmd, Context& ctx, std::function<int()> run) {
  cmd->callback([&ctx, run = std::move(run)] { ctx.exit_code = run(); });
}

int present(const Context& ctx, const std::function<Result<json>(Client&)>& call,
            const std::function<void(const json&)>& human) {
  auto c = ctx.authenticated();
  if (!c.ok()) return fail(c.error());
  auto answer = call(*c);
  if (!answer.ok()) return fail(answer.error());
  if (ctx.json)
    print_json(*answer);
  else
    human(*answer);
  return 0;
}

}  // namespace varg::cli
