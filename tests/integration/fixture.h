// Shared fixture for integration tests: a real vargd in a fresh temp dir, a user with a key, and
// helpers that return Exchanges (printed, request and response, when an assertion fails).
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "http_client.h"
#include "vargd_process.h"

namespace varg::test {

using nlohmann::json;

class VargdTest : public ::testing::Test {
 protected:
  virtual std::vector<std::string> extra_args() { return {}; }

  void SetUp() override { start(); }

  void start() {
    server_ = std::make_unique<Vargd>(dir_.path(), extra_args());
    ASSERT_TRUE(server_->started()) << server_->start_error();
    port_ = server_->port();
  }

  Exchange get(const std::string& target, const std::string& key = "") {
    return http(port_, "GET", target, key.empty() ? Headers{} : bearer(key));
  }
  Exchange post(const std::string& target, const std::string& key, const std::string& body,
                Headers extra = {{"Content-Type", "application/json"}}) {
    Headers h = key.empty() ? Headers{} : bearer(key);
    h.insert(h.end(), extra.begin(), extra.end());
    return http(port_, "POST", target, h, body);
  }
  Exchange del(const std::string& target, const std::string& key) { return http(port_, "DELETE", target, bearer(key)); }

  static json body(const Exchange& x) { return json::parse(x.response.body, nullptr, false); }

  // The number of live keys the user holds, as the API lists them.
  size_t key_count(const std::string& key) {
    auto x = get("/api/keys", key);
    EXPECT_EQ(x.response.status, 200) << x;
    return body(x)["keys"].size();
  }

  TempDir dir_;
  std::unique_ptr<Vargd> server_;
  int port_ = 0;
};

}  // namespace varg::test
