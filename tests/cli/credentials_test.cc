// Where varg finds its key (SPEC 8): VARG_API_KEY, then ./.env, then ~/.varg/credentials.
#include <sys/stat.h>

#include "fixture.h"

namespace varg::test {
namespace {

using CredentialsTest = CliTest;
const std::string kBadKey = "varg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

TEST_F(CredentialsTest, EnvironmentKeyBeatsTheFile) {
  login();
  varg_.vars["VARG_API_KEY"] = kBadKey;
  EXPECT_NE(varg_({"balance"}).exit_code, 0);
}

TEST_F(CredentialsTest, EnvironmentKeyAloneWorks) {
  varg_.vars["VARG_API_KEY"] = key_;
  Outcome r = varg_({"balance"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
}

TEST_F(CredentialsTest, EmptyEnvironmentKeyCountsAsUnset) {
  login();
  varg_.vars["VARG_API_KEY"] = "";
  Outcome r = varg_({"balance"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
}

TEST_F(CredentialsTest, DotenvBeatsTheFileAndLosesToTheEnvironment) {
  login();
  write(varg_.cwd / ".env", "VARG_API_KEY=" + kBadKey + "\n");
  EXPECT_NE(varg_({"balance"}).exit_code, 0);
  varg_.vars["VARG_API_KEY"] = key_;
  Outcome r = varg_({"balance"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
}

// One .env per spelling a user might write; each must yield the key.
TEST_F(CredentialsTest, DotenvSpellings) {
  const std::vector<std::string> files = {
      "VARG_API_KEY=" + key_ + "\n",
      "# my project\n\nOTHER=1\nVARG_API_KEY=\"" + key_ + "\"\n",
      "VARG_API_KEY='" + key_ + "'\n",
      "export VARG_API_KEY=" + key_ + "\n",
      "export VARG_API_KEY=\"" + key_ + "\" # the varg key\n",
      "  VARG_API_KEY = " + key_ + "  # trailing comment\r\n",
      "#VARG_API_KEY=" + kBadKey + "\nVARG_API_KEY=" + key_ + "\n",
  };
  for (const auto& text : files) {
    write(varg_.cwd / ".env", text);
    Outcome r = varg_({"balance"});
    EXPECT_EQ(r.exit_code, 0) << ".env:\n" << text << r.describe();
  }
}

TEST_F(CredentialsTest, DotenvWithoutTheKeyFallsBackToTheFile) {
  login();
  write(varg_.cwd / ".env", "FAL_KEY=fal_xxx\nVARG_API_KEY=\n");
  Outcome r = varg_({"balance"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
}

TEST_F(CredentialsTest, WorldReadableFileIsRefusedWithTheChmod) {
  login();
  ::chmod(credentials().c_str(), 0644);
  Outcome r = varg_({"balance"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("chmod 600 " + credentials().string()), std::string::npos) << r.describe();
}

TEST_F(CredentialsTest, GroupWritableFileIsRefused) {
  login();
  ::chmod(credentials().c_str(), 0620);
  EXPECT_NE(varg_({"balance"}).exit_code, 0);
}

TEST_F(CredentialsTest, CorruptFileGivesAClearMessage) {
  login();
  write(credentials(), "{ not json");
  Outcome r = varg_({"balance"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("corrupt"), std::string::npos) << r.describe();
}

TEST_F(CredentialsTest, FileWithoutKeyGivesAClearMessage) {
  login();
  write(credentials(), "{\"email\":\"x@example.com\"}");
  Outcome r = varg_({"balance"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("api_key"), std::string::npos) << r.describe();
}

TEST_F(CredentialsTest, NoCredentialsAnywhereSuggestsLogin) {
  Outcome r = varg_({"balance"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("varg login"), std::string::npos) << r.describe();
}

}  // namespace
}  // namespace varg::test
