// One vargd per test, a temp HOME with a working directory inside, and a key with 12,345 credits.
#pragma once
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <regex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness.h"

namespace varg::test {

using json = nlohmann::json;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(tmp_.path() / "server");
    fs::create_directories(tmp_.path() / "home" / "work");
    server_ = std::make_unique<Vargd>(tmp_.path() / "server");
    key_ = server_->create_user("user@example.com", 12345);
    varg_.home = tmp_.path() / "home";
    varg_.cwd = varg_.home / "work";
    varg_.vars = {{"VARG_GATEWAY_URL", server_->url()}, {"VARG_APP_URL", server_->url()}};
  }

  fs::path credentials() const { return varg_.home / ".varg" / "credentials"; }

  static int mode_of(const fs::path& p) {
    struct stat st{};
    return ::stat(p.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
  }

  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  // Logs in with the test account's key, as a user would.
  void login() {
    Outcome r = varg_({"login", "--api-key", key_});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
  }

  // The 6-digit code in the newest message to `email` in vargd's outbox (data/outbox/*.eml).
  std::string code_for(const std::string& email) const {
    const std::regex code(R"(\b(\d{6})\b)");
    for (int attempt = 0; attempt < 40; ++attempt) {
      fs::path newest;
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(server_->dir() / "data" / "outbox", ec)) {
        const std::string text = read(e.path());
        if (text.find("To: " + email) != std::string::npos &&
            (newest.empty() || fs::last_write_time(e.path()) > fs::last_write_time(newest)))
          newest = e.path();
      }
      if (!newest.empty()) {
        const std::string text = read(newest);
        std::smatch m;
        const std::string body = text.substr(text.find("\n\n") + 2);
        if (std::regex_search(body, m, code)) return m.str(1);
      }
      usleep(50'000);
    }
    return {};
  }

  TempDir tmp_;
  std::unique_ptr<Vargd> server_;
  std::string key_;
  VargEnv varg_;
};

}  // namespace varg::test
