// The account and key commands against a real vargd: human output, --json, errors and exit codes.
#include "fixture.h"

namespace varg::test {
namespace {

class CommandsTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    login();
  }
  // Creates a key through the CLI and returns the server's JSON for it.
  json create(const std::vector<std::string>& extra) {
    std::vector<std::string> args{"create", "api-key", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    Outcome r = varg_(args);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    return json::parse(r.out, nullptr, false);
  }
};

TEST_F(CommandsTest, BalanceInTheSeedsFormat) {
  Outcome r = varg_({"balance"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "Balance: 12,345 credits ($123.45)\n");
}

TEST_F(CommandsTest, BalanceJsonIsTheServersBody) {
  Outcome r = varg_({"balance", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  json b = json::parse(r.out);
  EXPECT_EQ(b["balance_cents"], 12345);
  EXPECT_EQ(b["currency"], "usd");
}

TEST_F(CommandsTest, ShowUser) {
  Outcome r = varg_({"show", "user"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("user@example.com"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("12,345 credits"), std::string::npos) << r.describe();
  EXPECT_EQ(json::parse(varg_({"show", "user", "--json"}).out)["email"], "user@example.com");
}

TEST_F(CommandsTest, CreateShowAndDeleteScopedKey) {
  write(varg_.cwd / "perms.json", R"({"api":{"user_read":{}}})");
  json k = create({"--name", "scoped", "--permission_file", "perms.json", "--expires-in", "30d"});
  ASSERT_TRUE(k.contains("id") && k["key"].is_string()) << k.dump();
  EXPECT_EQ(k["permissions"]["api"].count("user_read"), 1u);
  EXPECT_TRUE(k["expires_at"].is_string());
  const std::string id = k["id"].dump();

  Outcome list = varg_({"show", "api-keys"});
  ASSERT_EQ(list.exit_code, 0) << list.describe();
  for (const char* column : {"ID", "NAME", "PREFIX", "CREATED", "LAST USED", "EXPIRES", "SCOPE"})
    EXPECT_NE(list.out.find(column), std::string::npos) << list.describe();
  EXPECT_NE(list.out.find("scoped"), std::string::npos);
  EXPECT_NE(list.out.find("user_read"), std::string::npos);
  EXPECT_EQ(list.out.find(k["key"].get<std::string>()), std::string::npos) << "full key listed";

  Outcome one = varg_({"show", "api-key", id, "--json"});
  ASSERT_EQ(one.exit_code, 0) << one.describe();
  EXPECT_EQ(json::parse(one.out)["name"], "scoped");

  // The scoped key reads the profile but may not make keys.
  VargEnv scoped = varg_;
  scoped.vars["VARG_API_KEY"] = k["key"];
  EXPECT_EQ(scoped({"show", "user"}).exit_code, 0);
  Outcome denied = scoped({"create", "api-key", "--name", "x"});
  EXPECT_NE(denied.exit_code, 0);
  EXPECT_NE(denied.err.find("403"), std::string::npos) << denied.describe();

  Outcome del = varg_({"delete", "api-key", id});
  ASSERT_EQ(del.exit_code, 0) << del.describe();
  EXPECT_NE(varg_({"show", "api-key", id}).exit_code, 0);
  usleep(1'100'000);  // revocation holds everywhere within a second
  EXPECT_NE(scoped({"show", "user"}).exit_code, 0);
}

TEST_F(CommandsTest, CreatedKeyIsShownOnceWithAWarning) {
  Outcome r = varg_({"create", "api-key", "--name", "ci"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("will not be shown again"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("varg_"), std::string::npos) << r.describe();
}

TEST_F(CommandsTest, PermissionFileThatIsNotJsonIsALocalError) {
  write(varg_.cwd / "bad.json", "{api: nope");
  Outcome r = varg_({"create", "api-key", "--name", "b", "--permission_file", "bad.json"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("not valid JSON"), std::string::npos) << r.describe();
}

TEST_F(CommandsTest, UnknownPermissionCategoryShowsTheServers400) {
  write(varg_.cwd / "bad.json", R"({"api":{"nonsense_cat":{}}})");
  Outcome r = varg_({"create", "api-key", "--name", "b", "--permission_file", "bad.json"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("nonsense_cat"), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find("400"), std::string::npos) << r.describe();
}

TEST_F(CommandsTest, MissingRequiredNameIsAUsageError) {
  EXPECT_NE(varg_({"create", "api-key"}).exit_code, 0);
}

TEST_F(CommandsTest, UnknownKeyIdIsAnError) {
  Outcome r = varg_({"delete", "api-key", "999999"});
  EXPECT_NE(r.exit_code, 0) << r.describe();
}

TEST_F(CommandsTest, UnreachableServerNamesTheAddress) {
  VargEnv away = varg_;
  away.vars["VARG_GATEWAY_URL"] = "http://127.0.0.1:1";
  Outcome r = away({"balance"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("cannot reach the varg server at http://127.0.0.1:1"), std::string::npos) << r.describe();
}

TEST_F(CommandsTest, InvalidKeySuggestsLogin) {
  VargEnv bad = varg_;
  bad.vars["VARG_API_KEY"] = "varg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  Outcome r = bad({"balance"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("run `varg login`"), std::string::npos) << r.describe();
}

TEST_F(CommandsTest, HelpOnEveryCommand) {
  const std::vector<std::vector<std::string>> commands = {
      {}, {"login"}, {"logout"}, {"balance"}, {"topup"}, {"usage"}, {"set", "api-key"}, {"show", "user"},
      {"show", "api-keys"}, {"show", "api-key"}, {"create", "api-key"}, {"delete", "api-key"}, {"reset", "api-key"},
      {"provider-keys", "set"}, {"provider-keys", "list"}, {"provider-keys", "delete"}, {"image"}, {"video"},
      {"speech"}, {"music"}, {"transcribe"}, {"render"}, {"models"}, {"jobs"}, {"retry"}, {"estimate"},
      {"ffmpeg", "trim"}, {"ffmpeg", "resize"}, {"ffmpeg", "slice"}, {"ffmpeg", "probe"}, {"ffmpeg", "run"}};
  for (auto args : commands) {
    args.push_back("--help");
    Outcome r = varg_(args);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.describe();
    if (!args.empty() && args.size() > 1) EXPECT_NE(r.out.find("--json"), std::string::npos) << r.describe();
  }
}

TEST_F(CommandsTest, GenerationOptionsAreCheckedBeforeAnyCall) {
  EXPECT_NE(varg_({"image", "--prompt", "x"}).exit_code, 0);  // no --model
  Outcome r = varg_({"video", "--model", "kling-v3", "--prompt", "x", "--duration", "five"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--duration"), std::string::npos) << r.describe();
}

}  // namespace
}  // namespace varg::test
