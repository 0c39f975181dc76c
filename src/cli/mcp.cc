// varg mcp: the gateway's MCP server (/mcp, docs/mcp.md) over stdio, for local agents. Each line on
// stdin is a JSON-RPC message, forwarded with the saved key; each answer is one line on stdout.
// initialize is forwarded alone (it opens the session every later message carries); the other
// messages are forwarded concurrently, so a call_tool that waits does not hold up a ping. At end of
// input the session is ended.
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "cli/commands.h"

namespace varg::cli {

namespace {

class Bridge {
 public:
  explicit Bridge(Client client) : client_(std::move(client)) {}

  int run() {
    std::string line;
    std::vector<std::thread> in_flight;
    while (std::getline(std::cin, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const json m = json::parse(line, nullptr, false);
      if (m.is_discarded()) {
        emit(error_line(nullptr, -32700, "Parse error: a line that is not JSON"));
        continue;
      }
      if (m.is_object() && m.value("method", "") == "initialize") {
        for (auto& t : in_flight) t.join();
        in_flight.clear();
        forward(line, m, true);
        continue;
      }
      in_flight.emplace_back([this, line, m] { forward(line, m, false); });
    }
    for (auto& t : in_flight) t.join();
    if (!session_.empty()) (void)client_.mcp("DELETE", "", session_, version_);
    return 0;
  }

 private:
  static std::string error_line(const json& id, int code, const std::string& message) {
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}}.dump();
  }

  void forward(const std::string& line, const json& m, bool initialize) {
    const json id = m.is_object() && m.contains("id") ? m["id"] : json(nullptr);
    std::string session, version;
    {
      std::lock_guard lk(mu_);
      session = session_, version = version_;
    }
    auto a = client_.mcp("POST", line, initialize ? "" : session, initialize ? "" : version);
    if (!a.ok()) {
      if (!id.is_null()) emit(error_line(id, -32603, "the gateway did not answer: " + a.error().message));
      return;
    }
    if (a->status == 202 || a->body.empty()) return;  // notifications: nothing to answer
    json body = json::parse(a->body, nullptr, false);
    if (body.is_discarded()) {
      if (!id.is_null()) emit(error_line(id, -32603, "the gateway's answer is not JSON (HTTP " + std::to_string(a->status) + ")"));
      return;
    }
    if (a->status == 401) {  // the transport's refusal, as the request's own error
      emit(error_line(id, -32001, "the gateway refused the saved API key: run `varg login` or set VARG_API_KEY"));
      return;
    }
    if (body.is_object() && body.contains("error") && body["id"].is_null() && !id.is_null()) body["id"] = id;
    if (initialize && a->status == 200 && body.contains("result")) {
      std::lock_guard lk(mu_);
      session_ = a->session_id;
      version_ = body["result"].value("protocolVersion", "");
    }
    emit(body.dump());
  }

  void emit(const std::string& line) {
    std::lock_guard lk(out_mu_);
    std::cout << line << "\n" << std::flush;
  }

  Client client_;
  std::mutex mu_, out_mu_;
  std::string session_, version_;
};

}  // namespace

void add_mcp_command(CLI::App& app, Context& ctx) {
  CLI::App* mcp = app.add_subcommand("mcp", "Serve the gateway's MCP tools over stdio (for local agents; docs/mcp.md)");
  on_run(mcp, ctx, [&ctx] {
    auto client = ctx.authenticated();
    if (!client.ok()) {
      std::cerr << "varg mcp: " << client.error().message << "\n";
      return 1;
    }
    return Bridge(std::move(*client)).run();
  });
}

}  // namespace varg::cli
