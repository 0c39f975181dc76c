// Error mapping (SPEC 9): one Status becomes an HTTP response in the dialect of the route family.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/api.h"

namespace varg {
namespace {

using nlohmann::json;

std::string header(const Response& r, const std::string& name) {
  for (auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

TEST(ErrorMapping, FamilyFollowsThePathPrefix) {
  EXPECT_EQ(family_of("/v1/balance"), Family::gateway);
  EXPECT_EQ(family_of("/healthz"), Family::gateway);
  EXPECT_EQ(family_of("/api/keys"), Family::app);
  EXPECT_EQ(family_of("/api/auth/cli/send-otp"), Family::app);
  EXPECT_EQ(family_of("/api/v0/users/current"), Family::vast);
  EXPECT_EQ(family_of("/api/v0"), Family::vast);
}

struct CodeCase {
  Code code;
  int status;
  const char* name;
};

const CodeCase kCodes[] = {
    {Code::invalid, 400, "validation_error"},
    {Code::unauthorized, 401, "unauthorized"},
    {Code::insufficient_balance, 402, "insufficient_balance"},
    {Code::forbidden, 403, "forbidden"},
    {Code::not_found, 404, "not_found"},
    {Code::method_not_allowed, 405, "method_not_allowed"},
    {Code::conflict, 409, "conflict"},
    {Code::payload_too_large, 413, "payload_too_large"},
    {Code::rate_limited, 429, "rate_limited"},
    {Code::internal, 500, "internal_error"},
    {Code::provider_error, 502, "provider_error"},
    {Code::unavailable, 503, "service_unavailable"},
    {Code::timeout, 504, "timeout"},
};

TEST(ErrorMapping, EveryCodeHasItsCanonicalHttpStatusAndName) {
  for (auto& c : kCodes) {
    EXPECT_EQ(http_status(c.code), c.status) << c.name;
    EXPECT_STREQ(code_name(c.code), c.name);
  }
}

TEST(ErrorMapping, GatewayDialectHasNestedErrorTopLevelMessageAndStatusCode) {
  for (auto& c : kCodes) {
    if (c.code == Code::internal) continue;
    Response r = error_response(Family::gateway, error(c.code, "some text"));
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.content_type, "application/json");
    json expect = {{"error", {{"code", c.name}, {"message", "some text"}}}, {"message", "some text"}, {"statusCode", c.status}};
    EXPECT_EQ(json::parse(r.body), expect) << r.body;
  }
}

TEST(ErrorMapping, GatewayDialectExactInsufficientBalanceShape) {
  Response r = error_response(Family::gateway, error(Code::insufficient_balance,
                                                     "Insufficient balance. Required: 150 credits, available: 20 credits"));
  EXPECT_EQ(r.status, 402);
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"error":{"code":"insufficient_balance","message":"Insufficient balance. Required: 150 credits, available: 20 credits"},
                            "message":"Insufficient balance. Required: 150 credits, available: 20 credits","statusCode":402})"));
}

TEST(ErrorMapping, GatewayDialectAddsFieldAndProviderWhenKnown) {
  Status s = error(Code::invalid, "Field 'model' is required", "model");
  json body = json::parse(error_response(Family::gateway, s).body);
  EXPECT_EQ(body["field"], "model");
  EXPECT_FALSE(body.contains("provider"));
  s = error(Code::provider_error, "fal rejected the key");
  s.provider = "fal";
  body = json::parse(error_response(Family::gateway, s).body);
  EXPECT_EQ(body["provider"], "fal");
  EXPECT_EQ(body["statusCode"], 502);
  EXPECT_FALSE(body.contains("field"));
}

TEST(ErrorMapping, AppDialectIsFlatWithHumanErrorCodeAndStatusCode) {
  for (auto& c : kCodes) {
    if (c.code == Code::internal) continue;
    Response r = error_response(Family::app, error(c.code, "human text"));
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(json::parse(r.body), (json{{"error", "human text"}, {"code", c.name}, {"statusCode", c.status}})) << r.body;
  }
  json with_field = json::parse(error_response(Family::app, error(Code::invalid, "bad name", "name")).body);
  EXPECT_EQ(with_field["field"], "name");
  EXPECT_TRUE(with_field["error"].is_string());
}

TEST(ErrorMapping, VastDialectIsSuccessFalseErrorKindAndMsg) {
  for (auto& c : kCodes) {
    if (c.code == Code::internal || c.code == Code::unauthorized) continue;
    Response r = error_response(Family::vast, error(c.code, "vast text"));
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(json::parse(r.body), (json{{"success", false}, {"error", c.name}, {"msg", "vast text"}})) << r.body;
  }
}

TEST(ErrorMapping, VastDialectBadKeyIsInvalidUserKey) {
  Response r = error_response(Family::vast, error(Code::unauthorized, "Invalid or missing API key"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json::parse(r.body), (json{{"success", false}, {"error", "unauthorized"}, {"msg", "Invalid user key"}}));
}

TEST(ErrorMapping, RateLimitedCarriesRetryAfterInEveryDialect) {
  for (Family f : {Family::gateway, Family::app, Family::vast}) {
    Status s = error(Code::rate_limited, "Too many requests");
    s.retry_after = 30;
    Response r = error_response(f, s);
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(header(r, "Retry-After"), "30");
    s.retry_after = 0;  // never "0": a client would retry at once
    EXPECT_EQ(header(error_response(f, s), "Retry-After"), "1");
  }
  EXPECT_EQ(header(error_response(Family::gateway, error(Code::invalid, "x")), "Retry-After"), "");
}

TEST(ErrorMapping, InternalErrorsDoNotLeakTheMessageInAnyDialect) {
  const std::string secret = "database error: no such table api_keys at /srv/varg.db";
  for (Family f : {Family::gateway, Family::app, Family::vast}) {
    Response r = error_response(f, error(Code::internal, secret));
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.body.find("database"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("api_keys"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("internal_error"), std::string::npos) << r.body;
  }
  EXPECT_EQ(json::parse(error_response(Family::gateway, error(Code::internal, secret)).body)["statusCode"], 500);
}

}  // namespace
}  // namespace varg
