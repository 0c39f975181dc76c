// vargd settings: flag > env > file > default, config-file errors, invalid values name the setting.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "server/config.h"

namespace varg {
namespace {

namespace fs = std::filesystem;
using Env = std::map<std::string, std::string>;
using Args = std::vector<std::string>;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "varg-config-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write_file(const std::string& text) {
    std::string path = (dir_ / "vargd.conf").string();
    std::ofstream(path) << text;
    return path;
  }
  fs::path dir_;
};

TEST_F(ConfigTest, DefaultsApplyWithNoFlagsEnvOrFile) {
  auto r = parse_args({}, {}, false);
  ASSERT_TRUE(r.ok()) << r.status().message;
  const Config& c = r->config;
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_EQ(c.database_path(), "./data/varg.db");
  EXPECT_EQ(c.json_body_limit, 1u << 20);
  EXPECT_EQ(c.upload_body_limit, 50u << 20);
  EXPECT_EQ(c.header_limit, 16u * 1024);
  EXPECT_EQ(c.read_timeout_ms, 30000);
  EXPECT_EQ(c.workers, 8);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_FALSE(r->help);
}

TEST_F(ConfigTest, FileOverridesDefault) {
  std::string f = write_file("# comment\n\nworkers = 3\nlog-level = \"debug\"  # trailing comment\n");
  auto r = parse_args({"--config", f}, {}, false);
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->config.workers, 3);
  EXPECT_EQ(r->config.log_level, "debug");
}

TEST_F(ConfigTest, EnvOverridesFile) {
  std::string f = write_file("workers = 3\n");
  auto r = parse_args({"--config", f}, {{"VARGD_WORKERS", "5"}}, false);
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->config.workers, 5);
}

TEST_F(ConfigTest, FlagOverridesEnvAndFile) {
  std::string f = write_file("workers = 3\nread-timeout-ms = 111\n");
  auto r = parse_args({"--config", f, "--workers", "7", "--read-timeout-ms=222"},
                      {{"VARGD_WORKERS", "5"}, {"VARGD_READ_TIMEOUT_MS", "333"}}, false);
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->config.workers, 7);
  EXPECT_EQ(r->config.read_timeout_ms, 222);
}

TEST_F(ConfigTest, PrecedenceIsPerSetting) {
  std::string f = write_file("workers = 3\nthreads = 2\nlog-level = warn\n");
  auto r = parse_args({"--config", f, "--workers", "9"}, {{"VARGD_THREADS", "4"}}, false);
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->config.workers, 9);      // flag
  EXPECT_EQ(r->config.threads, 4);      // env
  EXPECT_EQ(r->config.log_level, "warn");  // file
  EXPECT_EQ(r->config.idle_timeout_ms, 60000);  // default
}

TEST_F(ConfigTest, ConfigFileCanComeFromTheEnvironment) {
  std::string f = write_file("workers = 4\n");
  auto r = parse_args({}, {{"VARGD_CONFIG", f}}, false);
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->config.workers, 4);
}

TEST_F(ConfigTest, ListenParsesHostAndPortIncludingPortZeroAndIpv6) {
  auto r = parse_args({"--listen", "0.0.0.0:0"}, {}, false);
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->config.listen_host, "0.0.0.0");
  EXPECT_EQ(r->config.listen_port, 0);
  r = parse_args({"--listen", "[::1]:9000"}, {}, false);
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->config.listen_host, "::1");
  EXPECT_EQ(r->config.listen_port, 9000);
}

TEST_F(ConfigTest, DatabaseDefaultsUnderDataDirAndAcceptsSqlitePrefix) {
  auto r = parse_args({"--data-dir", "/srv/varg"}, {}, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->config.database_path(), "/srv/varg/varg.db");
  r = parse_args({"--database", "sqlite:/tmp/x.db"}, {}, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->config.database_path(), "/tmp/x.db");
}

TEST_F(ConfigTest, DatabaseAcceptsPostgresUrls) {
  for (const char* url : {"postgresql://varg:pw@db:5432/varg", "postgres://db/varg"}) {
    auto r = parse_args({"--database", url}, {}, false);
    ASSERT_TRUE(r.ok()) << url;
    EXPECT_EQ(r->config.database_path(), url);
  }
  auto r = parse_args({}, {{"VARGD_DATABASE", "postgresql://db/varg"}}, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->config.database_path(), "postgresql://db/varg");
}

struct InvalidCase {
  Args args;
  Env env;
  std::string setting;  // what the message must name
};

TEST_F(ConfigTest, InvalidValuesAreRefusedWithAMessageNamingTheSetting) {
  const std::vector<InvalidCase> cases = {
      {{"--workers", "abc"}, {}, "workers"},
      {{"--workers", "0"}, {}, "workers"},
      {{"--workers", "12x"}, {}, "workers"},
      {{}, {{"VARGD_WORKERS", "lots"}}, "workers"},
      {{"--threads", "-1"}, {}, "threads"},
      {{"--listen", "nohostport"}, {}, "listen"},
      {{"--listen", "127.0.0.1:65536"}, {}, "listen"},
      {{"--listen", "127.0.0.1:http"}, {}, "listen"},
      {{"--log-level", "loud"}, {}, "log-level"},
      {{"--json-body-limit", "10"}, {}, "json-body-limit"},
      {{"--read-timeout-ms", "1e3"}, {}, "read-timeout-ms"},
      {{"--public-url", "ftp://x"}, {}, "public-url"},
      {{"--secret", "abcd"}, {}, "secret"},
      {{"--database", "postgresql://"}, {}, "database"},
      {{"--workers"}, {}, "workers"},  // flag without a value
  };
  for (auto& c : cases) {
    auto r = parse_args(c.args, c.env, false);
    std::string what = ::testing::PrintToString(c.args) + " " + ::testing::PrintToString(c.env);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().code, Code::invalid) << what;
    EXPECT_NE(r.status().message.find(c.setting), std::string::npos) << what << ": " << r.status().message;
    EXPECT_EQ(r.status().field, c.setting) << what;
  }
}

TEST_F(ConfigTest, InvalidValueInTheFileNamesTheSetting) {
  std::string f = write_file("workers = many\n");
  auto r = parse_args({"--config", f}, {}, false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message.find("workers"), std::string::npos) << r.status().message;
}

TEST_F(ConfigTest, ConfigFileErrorsNameFileLineAndProblem) {
  std::string f = write_file("workers = 3\nthis line has no equals sign\n");
  auto r = parse_args({"--config", f}, {}, false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message.find(f + ":2"), std::string::npos) << r.status().message;

  f = write_file("wrokers = 3\n");
  r = parse_args({"--config", f}, {}, false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message.find("unknown setting 'wrokers'"), std::string::npos) << r.status().message;
  EXPECT_NE(r.status().message.find(f + ":1"), std::string::npos) << r.status().message;

  r = parse_args({"--config", (dir_ / "missing.conf").string()}, {}, false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message.find("config"), std::string::npos) << r.status().message;
  EXPECT_NE(r.status().message.find("missing.conf"), std::string::npos) << r.status().message;
}

TEST_F(ConfigTest, UnknownFlagIsAnErrorNamingIt) {
  auto r = parse_args({"--wrokers", "3"}, {}, false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message.find("--wrokers"), std::string::npos) << r.status().message;
}

TEST_F(ConfigTest, UnknownFlagsAreKeptAsExtrasForAdminCommands) {
  auto r = parse_args({"admin", "create-user", "--email", "a@b.co", "--credits", "5", "--data-dir", "/x"}, {}, true);
  ASSERT_TRUE(r.ok()) << r.status().message;
  EXPECT_EQ(r->positional, (Args{"admin", "create-user"}));
  EXPECT_EQ(r->extra.at("email"), "a@b.co");
  EXPECT_EQ(r->extra.at("credits"), "5");
  EXPECT_EQ(r->config.data_dir, "/x");
}

TEST_F(ConfigTest, UnrelatedEnvironmentVariablesAreIgnored) {
  auto r = parse_args({}, {{"VARGD_NOT_A_SETTING", "1"}, {"PATH", "/bin"}}, false);
  EXPECT_TRUE(r.ok()) << r.status().message;
}

TEST_F(ConfigTest, HelpIsRecognisedAndListsEverySettingWithEnvAndDefault) {
  auto r = parse_args({"--help"}, {}, false);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->help);
  EXPECT_TRUE(parse_args({"-h"}, {}, false)->help);
  const std::string help = settings_help();
  for (const char* s : {"listen", "data-dir", "database", "public-url", "secret", "json-body-limit", "upload-body-limit",
                        "header-limit", "read-timeout-ms", "idle-timeout-ms", "write-timeout-ms", "shutdown-grace-ms",
                        "threads", "workers", "log-level", "config"}) {
    EXPECT_NE(help.find(std::string("--") + s), std::string::npos) << s;
  }
  EXPECT_NE(help.find("VARGD_READ_TIMEOUT_MS"), std::string::npos);
  EXPECT_NE(help.find("default \"127.0.0.1:8080\""), std::string::npos);
  EXPECT_NE(help.find("flag > environment > file > default"), std::string::npos);
}

}  // namespace
}  // namespace varg
