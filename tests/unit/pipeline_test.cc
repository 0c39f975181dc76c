// The request pipeline without a network: Api::run over a real SqliteStore in a temp dir, with a
// ManualClock so that cache and expiry deadlines are crossed without sleeping.
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/api.h"
#include "api/services.h"
#include "auth/keys.h"
#include "common/crypto.h"
#include "mail/mailer.h"
#include "../support/temp_sqlite.h"

namespace varg {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string header(const Response& r, const std::string& name) {
  for (auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

// What a failing assertion prints: the request and the response.
struct Exchange {
  Request req;
  Response res;
  json body() const { return json::parse(res.body, nullptr, false); }
};

std::ostream& operator<<(std::ostream& o, const Exchange& x) {
  o << "\n--- request ---\n" << x.req.method << " " << x.req.target << "\n";
  for (auto& [k, v] : x.req.headers) o << k << ": " << v << "\n";
  o << "\n" << x.req.body.substr(0, 2000) << "\n--- response ---\n" << x.res.status << "\n";
  for (auto& [k, v] : x.res.headers) o << k << ": " << v << "\n";
  return o << "\n" << x.res.body.substr(0, 2000) << "\n";
}

class PipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { crypto_init(); }

  void SetUp() override {
    ASSERT_TRUE(db_.store);
    dir_ = db_.dir;
    store_ = db_.store.get();
    auth_ = std::make_unique<Authenticator>(*store_, clock_, hasher_);
    api_ = std::make_unique<Api>(Api::Options{1 << 20, 2, 64}, *auth_, metrics_);
    mailer_ = std::make_unique<OutboxMailer>((dir_ / "outbox").string(), "varg@localhost");
    login_ = std::make_unique<Login>(*store_, *mailer_, hasher_, clock_, Login::Limits{});
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // later services stay at their defaults
    services_.reset(new Services{*store_, clock_, hasher_, *auth_, metrics_, *login_, "http://varg.test"});
#pragma GCC diagnostic pop
    add_system_routes(*api_, *services_);
    add_account_routes(*api_, *services_);

    log_ = std::make_shared<std::ostringstream>();
    spdlog::set_default_logger(
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(*log_)));
    spdlog::default_logger()->set_pattern("%v");

    auto u = store_->create_user("alice@example.com", clock_.now());
    ASSERT_TRUE(u.ok()) << u.status().message;
    alice_ = *u;
    alice_key_ = issue(alice_.id, std::nullopt, std::nullopt);
  }

  void TearDown() override {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("null", std::make_shared<spdlog::sinks::null_sink_mt>()));
    api_.reset();
  }

  std::string issue(int64_t user_id, std::optional<const char*> perms, std::optional<int64_t> expires_at,
                    int64_t* key_id = nullptr) {
    KeyRequest req{user_id, "test key", std::nullopt, expires_at};
    if (perms) req.permissions = *Permissions::parse(json::parse(*perms));
    auto k = issue_key(*store_, hasher_, req, clock_.now());
    EXPECT_TRUE(k.ok()) << k.status().message;
    if (key_id) *key_id = k->record.id;
    return k->key;
  }

  Exchange call(const std::string& method, const std::string& target, const std::string& key = "", std::string body = "",
                Headers extra = {}) {
    Request req;
    req.method = method;
    req.target = target;
    auto q = target.find('?');
    req.path = normalize_path(target.substr(0, q));
    if (q != std::string::npos) req.query = target.substr(q + 1);
    if (!key.empty()) req.headers.emplace_back("authorization", "Bearer " + key);
    for (auto& h : extra) req.headers.push_back(h);
    req.body = std::move(body);
    req.remote_ip = "127.0.0.1";
    Response res = api_->run(req);
    return Exchange{std::move(req), std::move(res)};
  }

  void grant(int64_t user_id, int64_t credits) {
    static int n = 0;
    auto e = store_->append({0, user_id, EntryKind::grant, credits, "test-grant-" + std::to_string(++n), "", clock_.now()});
    ASSERT_TRUE(e.ok()) << e.status().message;
  }

  size_t live_keys(int64_t user_id) { return store_->keys_of(user_id)->size(); }

  testing::TempSqlite db_{"varg-pipeline"};
  fs::path dir_;
  ManualClock clock_{1'800'000'000'000};
  SecretHasher hasher_{"pipeline test pepper"};
  SqliteStore* store_ = nullptr;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<Mailer> mailer_;
  std::unique_ptr<Login> login_;
  Metrics metrics_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<Services> services_;
  std::shared_ptr<std::ostringstream> log_;
  User alice_;
  std::string alice_key_;
};

// ---- authentication ----

TEST_F(PipelineTest, ValidKeyReadsBalanceAsSpendableAndReserved) {
  grant(alice_.id, 500);
  ASSERT_TRUE(store_->append({0, alice_.id, EntryKind::reserve, 120, "hold-1", "job_1", clock_.now()}).ok());
  auto x = call("GET", "/v1/balance", alice_key_);
  ASSERT_EQ(x.res.status, 200) << x;
  EXPECT_EQ(x.body(), (json{{"balance_cents", 380}, {"currency", "usd"}, {"reserved_cents", 120}})) << x;
  EXPECT_EQ(x.res.content_type, "application/json");
}

TEST_F(PipelineTest, NewAccountHasZeroBalance) {
  auto x = call("GET", "/v1/balance", alice_key_);
  ASSERT_EQ(x.res.status, 200) << x;
  EXPECT_EQ(x.body(), (json{{"balance_cents", 0}, {"currency", "usd"}, {"reserved_cents", 0}})) << x;
}

TEST_F(PipelineTest, MeReturnsTheCallersAccount) {
  grant(alice_.id, 70);
  auto x = call("GET", "/v1/me", alice_key_);
  ASSERT_EQ(x.res.status, 200) << x;
  json b = x.body();
  EXPECT_EQ(b["userId"], std::to_string(alice_.id)) << x;
  EXPECT_EQ(b["id"], std::to_string(alice_.id)) << x;
  EXPECT_EQ(b["email"], "alice@example.com") << x;
  EXPECT_EQ(b["balance_cents"], 70) << x;
  EXPECT_EQ(b["created_at"], iso8601(alice_.created_at)) << x;
}

TEST_F(PipelineTest, LowerCaseBearerAndSurroundingSpacesAreAccepted) {
  auto x = call("GET", "/v1/balance", "", "", {{"authorization", "bearer   " + alice_key_ + "  "}});
  EXPECT_EQ(x.res.status, 200) << x;
}

struct BadCredential {
  const char* why;
  std::string authorization;  // header value; empty: no header
};

class BadCredentialTest : public PipelineTest {
 protected:
  std::vector<BadCredential> cases() {
    std::string wrong_checksum = alice_key_;
    wrong_checksum[42] = wrong_checksum[42] == 'a' ? 'b' : 'a';
    int64_t revoked_id = 0;
    std::string revoked = issue(alice_.id, std::nullopt, std::nullopt, &revoked_id);
    EXPECT_TRUE(store_->revoke_key(revoked_id, alice_.id, clock_.now()).ok());
    std::string expired = issue(alice_.id, std::nullopt, clock_.now() - 1);
    return {
        {"missing header", ""},
        {"empty bearer", "Bearer "},
        {"bearer of spaces", "Bearer    "},
        {"basic scheme", "Basic " + alice_key_},
        {"no scheme", alice_key_},
        {"garbled", "Bearer not-a-key"},
        {"garbled of the right length", "Bearer varg_" + std::string(38, '!')},
        {"wrong checksum", "Bearer " + wrong_checksum},
        {"well-formed but unknown", "Bearer " + ApiKey::generate()},
        {"revoked", "Bearer " + revoked},
        {"expired", "Bearer " + expired},
        {"malformed access token", "Bearer vat_short"},
        {"unknown access token", "Bearer " + AccessToken::generate()},
    };
  }
};

TEST_F(BadCredentialTest, GatewayRoutesAnswer401InGatewayDialectWithOneMessage) {
  for (auto& c : cases()) {
    Headers h;
    if (!c.authorization.empty()) h.emplace_back("authorization", c.authorization);
    auto x = call("GET", "/v1/balance", "", "", h);
    EXPECT_EQ(x.res.status, 401) << c.why << x;
    EXPECT_EQ(x.body(), (json{{"error", {{"code", "unauthorized"}, {"message", "Invalid or missing API key"}}},
                              {"message", "Invalid or missing API key"},
                              {"statusCode", 401}}))
        << c.why << x;
    EXPECT_FALSE(header(x.res, "X-Request-Id").empty()) << c.why;
  }
}

TEST_F(BadCredentialTest, AppRoutesAnswer401InAppDialectWithOneMessage) {
  for (auto& c : cases()) {
    Headers h;
    if (!c.authorization.empty()) h.emplace_back("authorization", c.authorization);
    auto x = call("GET", "/api/keys", "", "", h);
    EXPECT_EQ(x.res.status, 401) << c.why << x;
    EXPECT_EQ(x.body(), (json{{"error", "Invalid or missing API key"}, {"code", "unauthorized"}, {"statusCode", 401}}))
        << c.why << x;
  }
}

TEST_F(BadCredentialTest, VastRoutesAnswer401InVastDialectAndAcceptApiKeyQuery) {
  api_->add({"GET", "/api/v0/test/whoami", "test route", Auth::api_key, "", "", nullptr, 0,
             [](Ctx& ctx) -> Result<Response> { return json_response(200, {{"user", ctx.principal.user_id}}); }});
  for (auto& c : cases()) {
    Headers h;
    if (!c.authorization.empty()) h.emplace_back("authorization", c.authorization);
    auto x = call("GET", "/api/v0/test/whoami/", "", "", h);
    EXPECT_EQ(x.res.status, 401) << c.why << x;
    EXPECT_EQ(x.body(), (json{{"success", false}, {"error", "unauthorized"}, {"msg", "Invalid user key"}})) << c.why << x;
  }
  auto ok = call("GET", "//api/v0/test/whoami/?api_key=" + alice_key_);
  EXPECT_EQ(ok.res.status, 200) << ok;
  EXPECT_EQ(ok.body()["user"], alice_.id) << ok;
  auto bad = call("GET", "/api/v0/test/whoami?api_key=" + ApiKey::generate());
  EXPECT_EQ(bad.res.status, 401) << bad;
  // The query parameter is a Vast-dialect courtesy only.
  auto gw = call("GET", "/v1/balance?api_key=" + alice_key_);
  EXPECT_EQ(gw.res.status, 401) << gw;
}

TEST_F(PipelineTest, MalformedKeysAreRefusedWithoutTouchingTheStore) {
  // Break the key table behind the store's back: any key lookup now fails with a 500, so a 401
  // proves the key was refused before the store was asked.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "varg.db").string().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "ALTER TABLE api_keys RENAME TO api_keys_moved", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  std::string wrong_checksum = alice_key_;
  wrong_checksum[40] = wrong_checksum[40] == 'Z' ? 'Y' : 'Z';
  for (const std::string& k : {std::string("garbage"), wrong_checksum, "varg_" + std::string(38, 'a'), alice_key_ + "x",
                               std::string("vark_") + alice_key_.substr(5)}) {
    auto x = call("GET", "/v1/balance", k);
    EXPECT_EQ(x.res.status, 401) << "a malformed key reached the store" << x;
  }
  auto probe = call("GET", "/v1/balance", ApiKey::generate());
  EXPECT_EQ(probe.res.status, 500) << "a well-formed key must reach the (broken) store" << probe;
}

TEST_F(PipelineTest, SessionTokenWorksOnAppRoutesButNotOnKeyOnlyRoutes) {
  const std::string token = AccessToken::generate();
  ASSERT_TRUE(store_->insert_session({hasher_.hash(token), alice_.id, clock_.now(), clock_.now() + 86400}).ok());
  auto x = call("GET", "/api/keys", token);
  EXPECT_EQ(x.res.status, 200) << x;
  api_->add({"POST", "/v1/test/generate", "test route", Auth::api_key, "", "", nullptr, 0,
             [](Ctx&) -> Result<Response> { return json_response(202, json::object()); }});
  auto gen = call("POST", "/v1/test/generate", token, "{}");
  EXPECT_EQ(gen.res.status, 401) << gen;
  EXPECT_EQ(call("POST", "/v1/test/generate", alice_key_, "{}").res.status, 202);
  clock_.advance_ms(86400 * 1000);
  auto late = call("GET", "/api/keys", token);
  EXPECT_EQ(late.res.status, 401) << "an expired session token" << late;
}

TEST_F(PipelineTest, KeyRevokedOnAnotherInstanceFailsWithinOneSecond) {
  int64_t id = 0;
  const std::string key = issue(alice_.id, std::nullopt, std::nullopt, &id);
  ASSERT_EQ(call("GET", "/v1/balance", key).res.status, 200);  // now cached
  // Revoked straight in the store, as `vargd admin revoke-key` or another instance would: no forget().
  ASSERT_TRUE(store_->revoke_key(id, 0, clock_.now()).ok());
  clock_.advance_ms(999);
  auto x = call("GET", "/v1/balance", key);
  EXPECT_EQ(x.res.status, 401) << "still accepted 999 ms after revocation" << x;
}

TEST_F(PipelineTest, KeyRevokedThroughTheApiFailsAtOnce) {
  int64_t id = 0;
  const std::string key = issue(alice_.id, std::nullopt, std::nullopt, &id);
  ASSERT_EQ(call("GET", "/v1/balance", key).res.status, 200);  // cached
  auto del = call("DELETE", "/api/keys/" + std::to_string(id), alice_key_);
  ASSERT_EQ(del.res.status, 200) << del;
  EXPECT_EQ(del.body(), (json{{"success", true}, {"id", id}})) << del;
  auto x = call("GET", "/v1/balance", key);  // same instant: the cache entry was dropped
  EXPECT_EQ(x.res.status, 401) << x;
  EXPECT_EQ(live_keys(alice_.id), 1u);
}

TEST_F(PipelineTest, KeyStopsWorkingWhenItExpires) {
  const std::string key = issue(alice_.id, std::nullopt, clock_.now() + 60);
  EXPECT_EQ(call("GET", "/v1/balance", key).res.status, 200);
  clock_.advance_ms(59'000);
  EXPECT_EQ(call("GET", "/v1/balance", key).res.status, 200);
  clock_.advance_ms(1'000);
  auto x = call("GET", "/v1/balance", key);
  EXPECT_EQ(x.res.status, 401) << x;
}

TEST_F(PipelineTest, KeyCreatedWithExpiresInOneSecondExpires) {
  auto created = call("POST", "/api/keys", alice_key_, R"({"name":"short","expires_in":1})");
  ASSERT_EQ(created.res.status, 201) << created;
  const std::string key = created.body()["key"];
  EXPECT_EQ(created.body()["expires_at"], iso8601(clock_.now() + 1)) << created;
  EXPECT_EQ(call("GET", "/v1/balance", key).res.status, 200);
  clock_.advance_ms(1000);
  auto x = call("GET", "/v1/balance", key);
  EXPECT_EQ(x.res.status, 401) << x;
}

TEST_F(PipelineTest, FirstUseRecordsLastUsedAt) {
  ASSERT_FALSE(store_->keys_of(alice_.id)->at(0).last_used_at.has_value());
  auto x = call("GET", "/api/keys", alice_key_);
  ASSERT_EQ(x.res.status, 200) << x;
  EXPECT_EQ(x.body()["keys"][0]["last_used_at"], iso8601(clock_.now())) << x;
  EXPECT_EQ(store_->keys_of(alice_.id)->at(0).last_used_at, clock_.now());
}

// ---- request ids ----

TEST_F(PipelineTest, SaneClientRequestIdIsEchoed) {
  for (const std::string& id : {std::string("abc-123"), std::string("trace_01.HG:7"), std::string(128, 'x')}) {
    auto x = call("GET", "/healthz", "", "", {{"x-request-id", id}});
    EXPECT_EQ(header(x.res, "X-Request-Id"), id) << x;
  }
  auto err = call("GET", "/v1/nowhere", "", "", {{"x-request-id", "client-7"}});
  EXPECT_EQ(err.res.status, 404);
  EXPECT_EQ(header(err.res, "X-Request-Id"), "client-7") << err;
}

TEST_F(PipelineTest, InsaneClientRequestIdIsReplaced) {
  for (const std::string& id : {std::string("has space"), std::string(129, 'x'), std::string("quote\""),
                               std::string("new\nline"), std::string("\xc3\xa9t\xc3\xa9"), std::string("semi;colon")}) {
    auto x = call("GET", "/healthz", "", "", {{"x-request-id", id}});
    std::string got = header(x.res, "X-Request-Id");
    EXPECT_NE(got, id);
    EXPECT_TRUE(got.starts_with("req_") && got.size() == 24 && is_base62(got.substr(4))) << got;
  }
}

TEST_F(PipelineTest, EveryResponseCarriesAFreshRequestIdWhenTheClientSentNone) {
  auto a = call("GET", "/healthz");
  auto b = call("GET", "/v1/balance");
  std::string ida = header(a.res, "X-Request-Id"), idb = header(b.res, "X-Request-Id");
  EXPECT_TRUE(ida.starts_with("req_")) << a;
  EXPECT_TRUE(idb.starts_with("req_")) << b;
  EXPECT_NE(ida, idb);
}

// ---- routing errors ----

TEST_F(PipelineTest, UnknownRouteIs404InTheFamilyDialect) {
  auto gw = call("GET", "/v1/x", alice_key_);
  EXPECT_EQ(gw.res.status, 404) << gw;
  EXPECT_EQ(gw.body()["error"]["code"], "not_found") << gw;
  EXPECT_EQ(gw.body()["statusCode"], 404) << gw;
  EXPECT_EQ(gw.body()["message"], gw.body()["error"]["message"]) << gw;

  auto app = call("GET", "/api/x");
  EXPECT_EQ(app.res.status, 404) << app;
  EXPECT_TRUE(app.body()["error"].is_string()) << app;
  EXPECT_EQ(app.body()["code"], "not_found") << app;
  EXPECT_EQ(app.body()["statusCode"], 404) << app;

  auto vast = call("GET", "/api/v0/x/");
  EXPECT_EQ(vast.res.status, 404) << vast;
  EXPECT_EQ(vast.body()["success"], false) << vast;
  EXPECT_EQ(vast.body()["error"], "not_found") << vast;
  EXPECT_TRUE(vast.body()["msg"].is_string()) << vast;
}

TEST_F(PipelineTest, WrongMethodIs405WithAllowBeforeAuthentication) {
  struct Case {
    const char* method;
    const char* path;
    const char* allow;
  };
  for (auto c : {Case{"DELETE", "/v1/balance", "GET"}, Case{"PUT", "/api/keys", "GET, POST"},
                 Case{"PATCH", "/api/keys/5", "GET, DELETE"}, Case{"POST", "/healthz", "GET"}}) {
    auto x = call(c.method, c.path);  // no key: routing comes first
    EXPECT_EQ(x.res.status, 405) << x;
    EXPECT_EQ(header(x.res, "Allow"), c.allow) << x;
    EXPECT_FALSE(header(x.res, "X-Request-Id").empty()) << x;
    json b = x.body();
    if (family_of(c.path) == Family::app) {
      EXPECT_EQ(b["code"], "method_not_allowed") << x;
    } else {
      EXPECT_EQ(b["error"]["code"], "method_not_allowed") << x;
    }
    EXPECT_EQ(b["statusCode"], 405) << x;
  }
}

TEST_F(PipelineTest, HeadIsAnsweredByTheGetRoute) {
  EXPECT_EQ(call("HEAD", "/healthz").res.status, 200);
}

// ---- POST /api/keys validation ----

struct BadBody {
  const char* why;
  const char* body;
  const char* field;  // "" when the whole body is at fault
};

TEST_F(PipelineTest, BadKeyRequestBodiesAre400NamingTheFieldAndWriteNothing) {
  const BadBody cases[] = {
      {"truncated JSON", R"({"name":"x")", ""},
      {"not JSON", "name=x", ""},
      {"trailing garbage", R"({"name":"x"} extra)", ""},
      {"array body", R"([{"name":"x"}])", ""},
      {"string body", R"("x")", ""},
      {"number body", "42", ""},
      {"null body", "null", ""},
      {"missing name", "{}", "name"},
      {"name null", R"({"name":null})", "name"},
      {"name a number", R"({"name":5})", "name"},
      {"name an object", R"({"name":{"first":"a"}})", "name"},
      {"name empty", R"({"name":""})", "name"},
      {"expires_in boolean", R"({"name":"x","expires_in":true})", "expires_in"},
      {"expires_in words", R"({"name":"x","expires_in":"soon"})", "expires_in"},
      {"expires_in negative", R"({"name":"x","expires_in":-1})", "expires_in"},
      {"expires_in fractional", R"({"name":"x","expires_in":0.5})", "expires_in"},
      {"permissions unknown category", R"({"name":"x","permissions":{"api":{"root":{}}}})", "permissions"},
      {"permissions unknown operator", R"({"name":"x","permissions":{"api":{"generate":{"g":{"constraints":{"m":{"ne":1}}}}}}})", "permissions"},
      {"permissions a string", R"({"name":"x","permissions":"all"})", "permissions"},
  };
  const size_t before = live_keys(alice_.id);
  for (auto& c : cases) {
    auto x = call("POST", "/api/keys", alice_key_, c.body, {{"content-type", "application/json"}});
    EXPECT_EQ(x.res.status, 400) << c.why << x;
    json b = x.body();
    EXPECT_EQ(b["code"], "validation_error") << c.why << x;
    EXPECT_EQ(b["statusCode"], 400) << c.why << x;
    ASSERT_TRUE(b["error"].is_string()) << c.why << x;
    if (*c.field) {
      EXPECT_EQ(b["field"], c.field) << c.why << x;
      if (std::string(c.field) != "permissions") {  // those name the bad category or operator instead
        EXPECT_NE(b["error"].get<std::string>().find(c.field), std::string::npos) << c.why << x;
      }
    }
    EXPECT_EQ(live_keys(alice_.id), before) << c.why << ": a key was written";
  }
}

TEST_F(PipelineTest, UnknownPermissionCategoryNamesTheValidOnes) {
  auto x = call("POST", "/api/keys", alice_key_, R"({"name":"x","permissions":{"api":{"root":{}}}})");
  ASSERT_EQ(x.res.status, 400) << x;
  std::string msg = x.body()["error"];
  for (const char* c : {"user_read", "user_write", "billing_read", "billing_write", "generate", "render"})
    EXPECT_NE(msg.find(c), std::string::npos) << c << x;
}

TEST_F(PipelineTest, CreatedKeyIsReturnedOnceAndWorks) {
  auto x = call("POST", "/api/keys", alice_key_, R"({"name":"ci","expires_in":"30d"})");
  ASSERT_EQ(x.res.status, 201) << x;
  json b = x.body();
  const std::string key = b["key"];
  EXPECT_TRUE(ApiKey::well_formed(key)) << x;
  EXPECT_EQ(b["name"], "ci");
  EXPECT_EQ(b["prefix"], key.substr(0, 9) + "\u2026");
  EXPECT_EQ(b["expires_at"], iso8601(clock_.now() + 30 * 86400));
  EXPECT_TRUE(b["permissions"].is_null());
  EXPECT_TRUE(b["id"].is_number_integer());
  EXPECT_FALSE(b.contains("hash")) << x;
  EXPECT_EQ(call("GET", "/v1/balance", key).res.status, 200);

  auto one = call("GET", "/api/keys/" + std::to_string(b["id"].get<int64_t>()), alice_key_);
  ASSERT_EQ(one.res.status, 200) << one;
  EXPECT_EQ(one.body()["name"], "ci") << one;
  EXPECT_FALSE(one.body().contains("key")) << one;
  EXPECT_EQ(one.res.body.find(key.substr(9)), std::string::npos) << one;
}

TEST_F(PipelineTest, ListingNeverContainsAFullKeyOrHash) {
  std::vector<std::string> keys = {alice_key_};
  for (int i = 0; i < 3; i++) {
    auto x = call("POST", "/api/keys", alice_key_, R"({"name":"k)" + std::to_string(i) + R"("})");
    ASSERT_EQ(x.res.status, 201) << x;
    keys.push_back(x.body()["key"]);
  }
  auto list = call("GET", "/api/keys", alice_key_);
  ASSERT_EQ(list.res.status, 200) << list;
  ASSERT_EQ(list.body()["keys"].size(), 4u) << list;
  for (auto& k : keys) {
    EXPECT_EQ(list.res.body.find(k.substr(9)), std::string::npos) << "listing leaks " << k << list;
    EXPECT_EQ(list.res.body.find(hasher_.hash(k)), std::string::npos) << "listing leaks a hash" << list;
  }
  const json listed = list.body();  // a named value: a temporary's subscript would dangle in the loop
  for (auto& k : listed["keys"]) {
    EXPECT_FALSE(k.contains("key")) << k;
    EXPECT_FALSE(k.contains("hash")) << k;
    for (const char* f : {"id", "name", "prefix", "created_at", "last_used_at", "expires_at", "permissions"})
      EXPECT_TRUE(k.contains(f)) << f << " missing in " << k;
    EXPECT_EQ(k["prefix"].get<std::string>().size(), 9u + 3u) << "varg_ab12 + U+2026";
  }
}

TEST_F(PipelineTest, ListingAndLookupAreLimitedToTheCallersKeys) {
  auto bob = store_->create_user("bob@example.com", clock_.now());
  int64_t bob_key_id = 0;
  const std::string bob_key = issue(bob->id, std::nullopt, std::nullopt, &bob_key_id);
  auto list = call("GET", "/api/keys", alice_key_);
  EXPECT_EQ(list.body()["keys"].size(), 1u) << list;
  auto get = call("GET", "/api/keys/" + std::to_string(bob_key_id), alice_key_);
  EXPECT_EQ(get.res.status, 404) << get;
  auto del = call("DELETE", "/api/keys/" + std::to_string(bob_key_id), alice_key_);
  EXPECT_EQ(del.res.status, 404) << del;
  EXPECT_EQ(call("GET", "/v1/balance", bob_key).res.status, 200) << "alice revoked bob's key";
}

TEST_F(PipelineTest, DeletingAMissingOrMalformedKeyIdIs404AndDeletingTwiceIs404) {
  int64_t id = 0;
  issue(alice_.id, std::nullopt, std::nullopt, &id);
  for (const char* bad : {"abc", "-1", "0", "99999999", "1e3", "123456789012345678901"}) {
    auto x = call("DELETE", std::string("/api/keys/") + bad, alice_key_);
    EXPECT_EQ(x.res.status, 404) << bad << x;
    EXPECT_EQ(x.body()["code"], "not_found") << x;
  }
  EXPECT_EQ(call("DELETE", "/api/keys/" + std::to_string(id), alice_key_).res.status, 200);
  auto again = call("DELETE", "/api/keys/" + std::to_string(id), alice_key_);
  EXPECT_EQ(again.res.status, 404) << again;
}

// ---- permissions through the pipeline ----

TEST_F(PipelineTest, ScopedKeyIsLimitedToItsCategories) {
  const std::string billing = issue(alice_.id, R"({"api":{"billing_read":{}}})", std::nullopt);
  EXPECT_EQ(call("GET", "/v1/balance", billing).res.status, 200);
  auto me = call("GET", "/v1/me", billing);
  EXPECT_EQ(me.res.status, 403) << me;
  EXPECT_EQ(me.body()["error"]["code"], "forbidden") << me;
  auto keys = call("GET", "/api/keys", billing);
  EXPECT_EQ(keys.res.status, 403) << keys;
  EXPECT_EQ(keys.body()["code"], "forbidden") << keys;

  const std::string inert = issue(alice_.id, R"({"api":{"instance_read":{},"machine_write":{}}})", std::nullopt);
  EXPECT_EQ(call("GET", "/v1/balance", inert).res.status, 403);
  EXPECT_EQ(call("GET", "/api/keys", inert).res.status, 403);
}

TEST_F(PipelineTest, ScopedKeyCannotCreateAWiderKey) {
  const std::string scoped = issue(alice_.id, R"({"api":{"user_read":{},"user_write":{}}})", std::nullopt);
  const size_t before = live_keys(alice_.id);
  auto full = call("POST", "/api/keys", scoped, R"({"name":"full"})");
  EXPECT_EQ(full.res.status, 403) << full;
  EXPECT_EQ(full.body()["field"], "permissions") << full;
  auto wider = call("POST", "/api/keys", scoped, R"({"name":"w","permissions":{"api":{"user_read":{},"billing_write":{}}}})");
  EXPECT_EQ(wider.res.status, 403) << wider;
  EXPECT_EQ(live_keys(alice_.id), before);
  auto narrower = call("POST", "/api/keys", scoped, R"({"name":"n","permissions":{"api":{"user_read":{}}}})");
  EXPECT_EQ(narrower.res.status, 201) << narrower;
  EXPECT_EQ(narrower.body()["permissions"], json::parse(R"({"api":{"user_read":{}}})")) << narrower;
}

TEST_F(PipelineTest, ExpiringKeyCannotCreateAKeyThatOutlivesIt) {
  const std::string key = issue(alice_.id, std::nullopt, clock_.now() + 3600);
  auto forever = call("POST", "/api/keys", key, R"({"name":"forever"})");
  EXPECT_EQ(forever.res.status, 403) << forever;
  EXPECT_EQ(forever.body()["field"], "expires_in") << forever;
  auto longer = call("POST", "/api/keys", key, R"({"name":"longer","expires_in":"2h"})");
  EXPECT_EQ(longer.res.status, 403) << longer;
  auto shorter = call("POST", "/api/keys", key, R"({"name":"shorter","expires_in":"30m"})");
  EXPECT_EQ(shorter.res.status, 201) << shorter;
}

// ---- errors and internals ----

TEST_F(PipelineTest, InternalErrorsAndExceptionsDoNotLeakDetails) {
  api_->add({"GET", "/v1/test/throws", "", Auth::none, "", "", nullptr, 0,
             [](Ctx&) -> Result<Response> { throw std::runtime_error("secret detail /etc/varg"); }});
  api_->add({"GET", "/api/test/fails", "", Auth::none, "", "", nullptr, 0,
             [](Ctx&) -> Result<Response> { return error(Code::internal, "database error: disk I/O at /srv/db"); }});
  auto t = call("GET", "/v1/test/throws");
  EXPECT_EQ(t.res.status, 500) << t;
  EXPECT_EQ(t.body()["error"]["code"], "internal_error") << t;
  EXPECT_EQ(t.res.body.find("secret detail"), std::string::npos) << t;
  EXPECT_FALSE(header(t.res, "X-Request-Id").empty());
  auto f = call("GET", "/api/test/fails");
  EXPECT_EQ(f.res.status, 500) << f;
  EXPECT_EQ(f.body()["code"], "internal_error") << f;
  EXPECT_EQ(f.res.body.find("disk"), std::string::npos) << f;
}

TEST_F(PipelineTest, RefusedRequestsUseTheDialectStatusAndCarryARequestId) {
  struct Case {
    const char* path;
    int status;
  };
  for (auto c : {Case{"/api/keys", 413}, Case{"/v1/balance", 413}, Case{"/api/v0/x", 413}, Case{"/", 431}, Case{"/", 400}}) {
    Response r = api_->refuse(c.path, c.status, "refused for a test");
    EXPECT_EQ(r.status, c.status) << c.path;
    EXPECT_TRUE(header(r, "X-Request-Id").starts_with("req_")) << c.path;
    json b = json::parse(r.body);
    switch (family_of(c.path)) {
      case Family::gateway:
        EXPECT_EQ(b["statusCode"], c.status) << r.body;
        EXPECT_EQ(b["message"], "refused for a test") << r.body;
        if (c.status == 413) {
          EXPECT_EQ(b["error"]["code"], "payload_too_large") << r.body;
        }
        break;
      case Family::app:
        EXPECT_EQ(b["statusCode"], c.status) << r.body;
        EXPECT_EQ(b["code"], "payload_too_large") << r.body;
        break;
      case Family::vast:
        EXPECT_EQ(b["success"], false) << r.body;
        EXPECT_EQ(b["error"], "payload_too_large") << r.body;
        break;
    }
  }
}

TEST_F(PipelineTest, BodyLimitIsTheJsonLimitUnlessTheRouteSetsItsOwn) {
  EXPECT_EQ(api_->body_limit("POST", "/api/keys"), 1u << 20);
  EXPECT_EQ(api_->body_limit("POST", "/nowhere"), 1u << 20);
  api_->add({"POST", "/v1/test/upload", "", Auth::api_key, "", "", nullptr, 50u << 20,
             [](Ctx&) -> Result<Response> { return json_response(200, json::object()); }});
  EXPECT_EQ(api_->body_limit("POST", "/v1/test/upload"), 50u << 20);
}

TEST_F(PipelineTest, HandleRunsThePipelineOnTheWorkerPool) {
  grant(alice_.id, 9);
  Request req;
  req.method = "GET";
  req.target = req.path = "/v1/balance";
  req.headers = {{"authorization", "Bearer " + alice_key_}};
  std::promise<Response> done;
  api_->handle(req, [&done](Response r) { done.set_value(std::move(r)); });
  auto fut = done.get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  Response r = fut.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["balance_cents"], 9);
}

TEST_F(PipelineTest, MetricsCountRequestsByRouteAndStatus) {
  call("GET", "/v1/balance", alice_key_);
  call("GET", "/v1/balance", alice_key_);
  call("GET", "/v1/balance");
  call("GET", "/v1/nowhere");
  auto m = call("GET", "/metrics");
  ASSERT_EQ(m.res.status, 200);
  EXPECT_TRUE(m.res.content_type.starts_with("text/plain")) << m.res.content_type;
  const std::string& t = m.res.body;
  EXPECT_NE(t.find("varg_http_requests_total{method=\"GET\",route=\"/v1/balance\",status=\"200\"} 2"), std::string::npos) << t;
  EXPECT_NE(t.find("varg_http_requests_total{method=\"GET\",route=\"/v1/balance\",status=\"401\"} 1"), std::string::npos) << t;
  EXPECT_NE(t.find("varg_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1"), std::string::npos) << t;
  EXPECT_NE(t.find("varg_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/balance\",status=\"200\",le=\"+Inf\"} 2"),
            std::string::npos) << t;
  EXPECT_NE(t.find("process_resident_memory_bytes"), std::string::npos);
  EXPECT_NE(t.find("process_start_time_seconds"), std::string::npos);
}

TEST_F(PipelineTest, OpenApiListsEveryRegisteredRouteAndNothingElse) {
  auto x = call("GET", "/openapi.json");
  ASSERT_EQ(x.res.status, 200) << x;
  json paths = x.body()["paths"];
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"/healthz", "get"},      {"/metrics", "get"},       {"/openapi.json", "get"},      {"/v1/balance", "get"},
      {"/v1/me", "get"},        {"/api/keys", "get"},      {"/api/keys", "post"},         {"/api/keys/{id}", "get"},
      {"/api/keys/{id}", "delete"},
  };
  for (auto& [p, m] : routes) EXPECT_TRUE(paths.contains(p) && paths[p].contains(m)) << m << " " << p << " missing";
  for (auto& [p, methods] : paths.items())
    for (auto& [m, op] : methods.items()) {
      std::string path = p;
      for (size_t i; (i = path.find('{')) != std::string::npos;) path.replace(i, path.find('}', i) - i + 1, "1");
      std::string method = m;
      for (auto& ch : method) ch = char(std::toupper(static_cast<unsigned char>(ch)));
      auto r = call(method, path, alice_key_);
      EXPECT_EQ(r.res.body.find("No route for"), std::string::npos) << "openapi lists a route that does not exist" << r;
      EXPECT_TRUE(op.contains("summary") && !op["summary"].get<std::string>().empty()) << p << " " << m;
    }
  EXPECT_TRUE(paths["/api/keys/{id}"]["get"].contains("parameters"));
  EXPECT_TRUE(paths["/v1/balance"]["get"].contains("security"));
  EXPECT_FALSE(paths["/healthz"]["get"].contains("security"));
}

TEST_F(PipelineTest, AccessLogHasOneJsonLinePerRequestAndNeverAKey) {
  call("GET", "/v1/balance", alice_key_, "", {{"x-request-id", "log-test-1"}});
  call("GET", "/v1/balance", ApiKey::generate());
  call("POST", "/api/keys", alice_key_, R"({"name":"secret-body-marker"})");
  call("GET", "/api/v0/x?api_key=" + alice_key_);
  const std::string log = log_->str();
  EXPECT_EQ(log.find(alice_key_.substr(5)), std::string::npos) << log;
  EXPECT_EQ(log.find("secret-body-marker"), std::string::npos) << "bodies are not logged\n" << log;
  std::istringstream lines(log);
  std::string line;
  int requests = 0;
  bool saw_first = false;
  while (std::getline(lines, line)) {
    json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    if (j["msg"] != "request") continue;
    requests++;
    for (const char* f : {"method", "route", "status", "duration_us", "request_id"}) EXPECT_TRUE(j.contains(f)) << f << ": " << line;
    if (j["request_id"] == "log-test-1") {
      saw_first = true;
      EXPECT_EQ(j["route"], "/v1/balance") << line;
      EXPECT_EQ(j["status"], 200) << line;
      EXPECT_TRUE(j["key_id"].is_number_integer()) << line;
    }
  }
  EXPECT_EQ(requests, 4) << log;
  EXPECT_TRUE(saw_first) << log;
}

}  // namespace
}  // namespace varg
