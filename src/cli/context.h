// What every varg command shares: the output mode, the server addresses, how to get a client with
// the right key, and the exit status the command leaves.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "varg/client.h"
#include "varg/credentials.h"

namespace varg::cli {

using client::Client;
using client::Error;
using client::Result;
using json = nlohmann::json;

struct Context {
  bool json = false;
  client::Endpoints endpoints = client::Endpoints::from_environment();
  int exit_code = 0;

  Client with_key(const std::string& api_key) const;
  Client anonymous() const { return with_key(""); }
  // A client with the key found the documented way (env, ./.env, ~/.varg/credentials).
  Result<Client> authenticated() const;
};

// A subcommand that takes --json; its callback's return value becomes the exit status.
CLI::App* command(CLI::App& parent, const std::string& name, const std::string& description, Context& ctx);
void on_run(CLI::App* cmd, Context& ctx, std::function<int()> run);

// The usual shape of a command: one call with the saved key, then the server's JSON (--json) or
// the human rendering of it. Returns the exit status.
int present(const Context& ctx, const std::function<Result<json>(Client&)>& call,
            const std::function<void(const json&)>& human);

}  // namespace varg::cli
