// vargd as a process: graceful shutdown with requests in flight, crash and restart on the same
// data, --help and invalid settings, and the admin commands' handling of bad input.
#include <signal.h>

#include <fstream>
#include <thread>

#include "fixture.h"

namespace varg::test {
namespace {

using namespace std::chrono_literals;

TEST_F(VargdTest, SigtermLetsAnInFlightRequestCompleteThenExitsZero) {
  const std::string key = server_->create_user("a@example.com", 10);
  Exchange x;
  x.request = build_request("POST", "/api/keys", bearer(key), R"({"name":"sent during shutdown"})");
  Connection c;
  ASSERT_TRUE(c.connect(port_));
  const size_t half = x.request.size() - 12;  // headers and part of the body
  ASSERT_TRUE(c.send(x.request.substr(0, half)));
  std::this_thread::sleep_for(200ms);
  server_->signal(SIGTERM);
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(server_->running()) << "vargd exited with a request in flight";
  ASSERT_TRUE(c.send(x.request.substr(half))) << "the in-flight request's connection was cut at SIGTERM";
  x.response = c.read_response();
  EXPECT_EQ(x.response.status, 201) << x;
  EXPECT_FALSE(find_key(x.response.body).empty()) << x;
  int sig = 0;
  auto code = server_->wait(10s, &sig);
  ASSERT_TRUE(code.has_value()) << "vargd did not exit within 10 s of SIGTERM (signal " << sig << ")\n" << server_->err();
  EXPECT_EQ(*code, 0) << server_->err();
  // The key created during shutdown was committed.
  server_.reset();
  start();
  EXPECT_EQ(key_count(key), 2u);
}

TEST_F(VargdTest, SigtermWithIdleKeepAliveConnectionsExitsPromptly) {
  Connection idle;
  ASSERT_TRUE(idle.connect(port_));
  ASSERT_TRUE(idle.send(build_request("GET", "/healthz", {}, "", true)));
  ASSERT_EQ(idle.read_response().status, 200);
  const auto t0 = std::chrono::steady_clock::now();
  server_->signal(SIGTERM);
  auto code = server_->wait(5s);
  ASSERT_TRUE(code.has_value()) << "vargd waited for an idle keep-alive connection\n" << server_->err();
  EXPECT_EQ(*code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_TRUE(idle.closed_by_peer(1s));
}

TEST_F(VargdTest, SigintAlsoShutsDownCleanly) {
  server_->signal(SIGINT);
  auto code = server_->wait(5s);
  ASSERT_TRUE(code.has_value()) << server_->err();
  EXPECT_EQ(*code, 0);
}

TEST_F(VargdTest, KillNineThenRestartKeepsEveryCommittedEntry) {
  const std::string key = server_->create_user("a@example.com", 1000);
  for (int i = 0; i < 3; i++) {
    RunResult g = run_vargd(dir_.path(), {"admin", "grant", "--email", "a@example.com", "--credits", "100"});
    ASSERT_EQ(g.exit_code, 0) << g.err;
  }
  auto created = post("/api/keys", key, R"({"name":"made by the server"})");
  ASSERT_EQ(created.response.status, 201) << created;
  const std::string server_key = body(created)["key"];
  ASSERT_EQ(body(get("/v1/balance", key))["balance_cents"], 1300);

  server_->signal(SIGKILL);
  int sig = 0;
  EXPECT_FALSE(server_->wait(5s, &sig).has_value());
  EXPECT_EQ(sig, SIGKILL);
  server_.reset();
  start();

  auto x = get("/v1/balance", key);
  ASSERT_EQ(x.response.status, 200) << x;
  EXPECT_EQ(body(x)["balance_cents"], 1300) << "a committed grant was lost" << x;
  EXPECT_EQ(get("/v1/balance", server_key).response.status, 200) << "a key committed before the crash was lost";
  EXPECT_EQ(key_count(key), 2u);
  RunResult list = run_vargd(dir_.path(), {"admin", "list-users"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("a@example.com"), std::string::npos) << list.out;
}

// ---- command line ----

class CommandLineTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(CommandLineTest, HelpExitsZeroAndListsEverySettingWithItsDefault) {
  RunResult r = run_vargd(dir_.path(), {"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* s : {"--listen", "--data-dir", "--database", "--public-url", "--json-body-limit", "--header-limit",
                        "--read-timeout-ms", "--write-timeout-ms", "--shutdown-grace-ms", "--workers", "--log-level",
                        "VARGD_LISTEN", "127.0.0.1:8080", "./data"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " missing from --help:\n" << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "data")) << "--help must not create the data directory";
}

TEST_F(CommandLineTest, InvalidSettingExitsNonZeroNamingIt) {
  struct Case {
    std::vector<std::string> args;
    const char* names;
  };
  const std::vector<Case> cases = {
      {{"--workers", "abc"}, "workers"},
      {{"--listen", "127.0.0.1:99999"}, "listen"},
      {{"--log-level", "chatty"}, "log-level"},
      {{"--read-timeout-ms", "-5"}, "read-timeout-ms"},
      {{"--no-such-flag", "1"}, "no-such-flag"},
  };
  for (auto& c : cases) {
    RunResult r = run_vargd(dir_.path(), c.args, std::chrono::seconds(10));
    EXPECT_NE(r.exit_code, 0) << ::testing::PrintToString(c.args) << "\n" << r.out << r.err;
    EXPECT_NE(r.exit_code, -1) << "vargd started serving despite " << ::testing::PrintToString(c.args);
    EXPECT_NE(r.err.find(c.names), std::string::npos) << ::testing::PrintToString(c.args) << ": " << r.err;
  }
}

TEST_F(CommandLineTest, InvalidConfigFileExitsNonZeroNamingTheProblem) {
  const auto conf = dir_.path() / "vargd.conf";
  std::ofstream(conf) << "workers = 4\nheader-limit = tiny\n";
  RunResult r = run_vargd(dir_.path(), {"--config", conf.string()}, std::chrono::seconds(10));
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("header-limit"), std::string::npos) << r.err;
}

TEST_F(CommandLineTest, AdminCommandsRejectBadInputWithNonZeroExit) {
  RunResult ok = run_vargd(dir_.path(), {"admin", "create-user", "--email", "taken@example.com", "--credits", "5"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const std::vector<std::vector<std::string>> bad = {
      {"admin", "create-user"},
      {"admin", "create-user", "--email", "not-an-email"},
      {"admin", "create-user", "--email", "new@example.com", "--credits", "-5"},
      {"admin", "create-user", "--email", "new@example.com", "--credits", "lots"},
      {"admin", "create-user", "--email", "taken@example.com"},
      {"admin", "grant", "--email", "nobody@example.com", "--credits", "5"},
      {"admin", "grant", "--email", "taken@example.com"},
      {"admin", "grant", "--email", "taken@example.com", "--credits", "0"},
      {"admin", "grant", "--email", "taken@example.com", "--credits", "1.5"},
      {"admin", "list-keys"},
      {"admin", "list-keys", "--email", "nobody@example.com"},
      {"admin", "revoke-key"},
      {"admin", "revoke-key", "abc"},
      {"admin", "revoke-key", "999999"},
      {"admin", "frobnicate"},
      {"admin"},
  };
  for (auto& args : bad) {
    RunResult r = run_vargd(dir_.path(), args);
    EXPECT_NE(r.exit_code, 0) << ::testing::PrintToString(args) << "\n" << r.out << r.err;
    EXPECT_NE(r.exit_code, -1) << ::testing::PrintToString(args) << " crashed or hung";
    EXPECT_FALSE(r.err.empty() && r.out.empty()) << ::testing::PrintToString(args) << " gave no explanation";
    EXPECT_EQ(find_key(r.out + r.err), "") << ::testing::PrintToString(args) << " printed a key";
  }
  // Nothing above changed the account.
  RunResult users = run_vargd(dir_.path(), {"admin", "list-users"});
  EXPECT_EQ(users.exit_code, 0);
  EXPECT_EQ(users.out.find("new@example.com"), std::string::npos) << users.out;
}

TEST_F(CommandLineTest, AdminCreateUserPrintsTheKeyOnceAndListingsNeverShowIt) {
  RunResult c = run_vargd(dir_.path(), {"admin", "create-user", "--email", "A@Example.com", "--credits", "1000"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const std::string key = find_key(c.out);
  ASSERT_FALSE(key.empty()) << c.out;
  RunResult keys = run_vargd(dir_.path(), {"admin", "list-keys", "--email", "a@example.com"});
  EXPECT_EQ(keys.exit_code, 0) << keys.err;
  EXPECT_NE(keys.out.find(key.substr(0, 9)), std::string::npos) << "the display prefix is listed\n" << keys.out;
  EXPECT_EQ(find_key(keys.out), "") << keys.out;
  RunResult users = run_vargd(dir_.path(), {"admin", "list-users"});
  EXPECT_EQ(users.exit_code, 0);
  EXPECT_NE(users.out.find("a@example.com"), std::string::npos) << users.out;
  EXPECT_NE(users.out.find("1000"), std::string::npos) << users.out;
  EXPECT_EQ(find_key(users.out), "") << users.out;
}

}  // namespace
}  // namespace varg::test
