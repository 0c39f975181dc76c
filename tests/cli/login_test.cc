// varg login / logout / set api-key and the credentials file they write (SPEC 8).
#include <sys/stat.h>

#include "fixture.h"

namespace varg::test {
namespace {

using LoginTest = CliTest;

TEST_F(LoginTest, ApiKeyLoginSavesPrivateCredentialsAndShowsBalance) {
  Outcome r = varg_({"login", "--api-key", key_});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("Balance: 12,345 credits ($123.45)"), std::string::npos) << r.describe();
  EXPECT_EQ(mode_of(credentials()), 0600);
  EXPECT_EQ(mode_of(credentials().parent_path()), 0700);
  json saved = json::parse(read(credentials()));
  EXPECT_EQ(saved["api_key"], key_);
  EXPECT_EQ(saved["email"], "user@example.com");
  EXPECT_TRUE(saved["created_at"].is_string());
}

TEST_F(LoginTest, ExistingLooseDirectoryIsMadePrivate) {
  fs::create_directories(credentials().parent_path());
  ::chmod(credentials().parent_path().c_str(), 0755);
  login();
  EXPECT_EQ(mode_of(credentials().parent_path()), 0700);
}

TEST_F(LoginTest, CredentialsAreReplacedAtomicallyByRename) {
  login();
  struct stat before{};
  ASSERT_EQ(::stat(credentials().c_str(), &before), 0);
  login();
  struct stat after{};
  ASSERT_EQ(::stat(credentials().c_str(), &after), 0);
  // A new inode means a new file renamed over the old one, never the old one rewritten in place.
  EXPECT_NE(before.st_ino, after.st_ino);
  for (const auto& entry : fs::directory_iterator(credentials().parent_path()))
    EXPECT_EQ(entry.path().filename(), "credentials") << "temp file left behind: " << entry.path();
}

TEST_F(LoginTest, RefusedKeyIsNotSavedAndSuggestsLogin) {
  Outcome r = varg_({"login", "--api-key", "varg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("varg login"), std::string::npos) << r.describe();
  EXPECT_FALSE(fs::exists(credentials()));
}

TEST_F(LoginTest, InteractiveMenuPasteKeyReadsStdin) {
  Outcome r = varg_({"login"}, "2\n" + key_ + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("[1] Email code"), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find("[2] Paste API key"), std::string::npos) << r.describe();
  EXPECT_EQ(json::parse(read(credentials()))["api_key"], key_);
}

TEST_F(LoginTest, InteractiveMenuEndOfInputIsAnError) {
  Outcome r = varg_({"login"}, "");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(fs::exists(credentials()));
}

TEST_F(LoginTest, ApiKeyLoginJsonPrintsTheBalanceBody) {
  Outcome r = varg_({"login", "--api-key", key_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(json::parse(r.out)["balance_cents"], 12345);
}

TEST_F(LoginTest, LogoutRemovesCredentials) {
  login();
  Outcome r = varg_({"logout"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_FALSE(fs::exists(credentials()));
  Outcome again = varg_({"balance"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("varg login"), std::string::npos) << again.describe();
}

TEST_F(LoginTest, SetApiKeySavesWithoutChecking) {
  Outcome r = varg_({"set", "api-key", "varg_unchecked"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(json::parse(read(credentials()))["api_key"], "varg_unchecked");
  EXPECT_EQ(mode_of(credentials()), 0600);
}

TEST_F(LoginTest, CodeWithoutEmailIsAnError) {
  Outcome r = varg_({"login", "--code", "123456"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--email"), std::string::npos) << r.describe();
}

}  // namespace
}  // namespace varg::test

namespace varg::test {
namespace {

using EmailLoginTest = CliTest;

TEST_F(EmailLoginTest, NonInteractiveSendThenVerify) {
  Outcome sent = varg_({"login", "--email", "new@example.com"});
  ASSERT_EQ(sent.exit_code, 0) << sent.describe();
  const std::string code = code_for("new@example.com");
  ASSERT_EQ(code.size(), 6u) << "no code in the outbox";
  Outcome r = varg_({"login", "--email", "new@example.com", "--code", code});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("Balance: 0 credits ($0.00)"), std::string::npos) << r.describe();
  json saved = json::parse(read(credentials()));
  EXPECT_EQ(saved["email"], "new@example.com");
  EXPECT_EQ(mode_of(credentials()), 0600);
  Outcome me = varg_({"show", "user", "--json"});
  ASSERT_EQ(me.exit_code, 0) << me.describe();
  EXPECT_EQ(json::parse(me.out)["email"], "new@example.com");
}

TEST_F(EmailLoginTest, VerifyJsonPrintsTheServersAnswer) {
  ASSERT_EQ(varg_({"login", "--email", "j@example.com"}).exit_code, 0);
  Outcome r = varg_({"login", "--email", "j@example.com", "--code", code_for("j@example.com"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  json answer = json::parse(r.out);
  EXPECT_EQ(answer["api_key"], json::parse(read(credentials()))["api_key"]);
  EXPECT_TRUE(answer.contains("access_token"));
}

TEST_F(EmailLoginTest, WrongCodeFailsAndSavesNothing) {
  ASSERT_EQ(varg_({"login", "--email", "w@example.com"}).exit_code, 0);
  const std::string code = code_for("w@example.com");
  const std::string wrong = code == "000000" ? "000001" : "000000";
  Outcome r = varg_({"login", "--email", "w@example.com", "--code", wrong});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.err.find("API key was refused"), std::string::npos) << "a wrong code is not a bad key: " << r.describe();
  EXPECT_FALSE(fs::exists(credentials()));
}

// The interactive menu over a pipe: [1], the email, a wrong code (retried on 401), the right one.
TEST_F(EmailLoginTest, InteractiveMenuRetriesAWrongCode) {
  auto session = varg_.start({"login"});
  ASSERT_TRUE(session->wait_for_stderr("Choose [1/2]: "));
  session->send("1\n");
  ASSERT_TRUE(session->wait_for_stderr("Email: "));
  session->send("menu@example.com\n");
  ASSERT_TRUE(session->wait_for_stderr("Code: "));
  const std::string code = code_for("menu@example.com");
  ASSERT_EQ(code.size(), 6u);
  session->send((code == "000000" ? "000001" : "000000") + std::string("\n"));
  ASSERT_TRUE(session->wait_for_stderr("Code: ", 2)) << "no second prompt after a wrong code";
  session->send(code + "\n");
  Outcome r = session->finish();
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(json::parse(read(credentials()))["email"], "menu@example.com");
}

}  // namespace
}  // namespace varg::test
