// Each step of the request pipeline (src/api/pipeline/) on its own: the request id, where the
// coroutine runs (Flow), authentication, permission, rate limit, idempotency and the access log;
// then the whole chain's promise that a request answered from memory never leaves its thread.
#include <gtest/gtest.h>
#include <future>
#include <set>
#include <thread>

#include "api/api.h"
#include "api/pipeline/access_log.h"
#include "api/pipeline/permission.h"
#include "api/pipeline/request_id.h"
#include "api/services.h"
#include "auth/keys.h"
#include "common/crypto.h"
#include "../support/temp_sqlite.h"

namespace varg {
namespace {

Request request(const std::string& method, const std::string& path, Headers headers = {}, std::string body = "") {
  Request r;
  r.method = method;
  r.target = r.path = path;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

// Runs a task to its end from this thread; returns its result (waiting when it moved elsewhere).
template <class T>
T finish(Task<T> t) {
  std::promise<T> p;
  auto f = p.get_future();
  detach(std::move(t), [&p](T v) { p.set_value(std::move(v)); });
  EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  return f.get();
}

Task<std::thread::id> hop(Flow& flow, bool* moved) {
  *moved = co_await flow.to_worker();
  co_return std::this_thread::get_id();
}

// ---- request id ----

TEST(RequestIdStep, ASaneCallerIdIsKeptAndAnythingElseReplacedByAFreshOne) {
  EXPECT_EQ(request_id_of(request("GET", "/", {{"x-request-id", "trace-1.a:b_c"}})), "trace-1.a:b_c");
  for (std::string bad : {std::string("has space"), std::string("<script>"), std::string(129, 'a'), std::string()}) {
    std::string id = request_id_of(request("GET", "/", {{"x-request-id", bad}}));
    EXPECT_TRUE(id.starts_with("req_")) << bad;
    EXPECT_EQ(id.size(), 24u);
  }
  std::set<std::string> seen;
  for (int i = 0; i < 10000; i++) seen.insert(new_request_id());
  EXPECT_EQ(seen.size(), 10000u);
}

// ---- flow ----

TEST(FlowStep, ToWorkerMovesOnceAndNotAtAllWhenAlreadyThere) {
  WorkerPool pool(1, 8);
  Flow flow(pool, false, false);
  bool moved = false;
  auto where = finish(hop(flow, &moved));
  EXPECT_TRUE(moved);
  EXPECT_NE(where, std::this_thread::get_id());
  EXPECT_TRUE(flow.on_worker());
  Flow here(pool, true, false);
  EXPECT_EQ(finish(hop(here, &moved)), std::this_thread::get_id());
  EXPECT_TRUE(moved);
}

TEST(FlowStep, AFullWorkerQueueRefusesAndTheTaskStaysWhereItIs) {
  WorkerPool pool(1, 1);
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::promise<void> started;
  ASSERT_TRUE(pool.submit([gate, &started] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().wait();      // the worker is busy
  ASSERT_TRUE(pool.submit([] {}));  // and the queue full
  Flow flow(pool, false, true);
  bool moved = true;
  EXPECT_EQ(finish(hop(flow, &moved)), std::this_thread::get_id());
  EXPECT_FALSE(moved);
  EXPECT_FALSE(flow.on_worker());
  EXPECT_TRUE(flow.may_read());
  release.set_value();
}

// ---- steps that need a store ----

class StepsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { crypto_init(); }
  void SetUp() override {
    ASSERT_TRUE(db_.store);
    store_ = db_.store.get();
    auth_ = std::make_unique<Authenticator>(*store_, clock_, hasher_);
    auto u = store_->create_user("steps@example.com", clock_.now());
    ASSERT_TRUE(u.ok());
    user_ = u->id;
    auto k = issue_key(*store_, hasher_, KeyRequest{user_, "k", std::nullopt, std::nullopt}, clock_.now());
    ASSERT_TRUE(k.ok());
    key_ = k->key;
  }
  Headers bearer_of(const std::string& k) { return {{"authorization", "Bearer " + k}}; }

  testing::TempSqlite db_{"varg-steps"};
  SqliteStore* store_ = nullptr;
  ManualClock clock_{1'800'000'000'000};
  SecretHasher hasher_{"steps pepper"};
  std::unique_ptr<Authenticator> auth_;
  int64_t user_ = 0;
  std::string key_;
};

Task<std::pair<Result<Principal>, std::thread::id>> who(Authentication& a, const Request& r, Auth mode,
                                                       const std::string& hash, Flow& flow) {
  auto p = co_await a.run(r, mode, hash, flow);
  co_return std::pair{std::move(p), std::this_thread::get_id()};
}

TEST_F(StepsTest, AuthenticationLooksAKeyUpOnAWorkerOnceThenAnswersFromMemoryWhereItIs) {
  Authentication authn(*auth_);
  WorkerPool pool(1, 8);
  Request r = request("GET", "/v1/balance", bearer_of(key_));
  const std::string hash = authn.key_hash(r);
  EXPECT_EQ(hash, hasher_.hash(key_));
  EXPECT_FALSE(authn.in_memory(Auth::api_key, hash));
  Flow first(pool, false, true);
  auto [p1, t1] = finish(who(authn, r, Auth::api_key, hash, first));
  ASSERT_TRUE(p1.ok()) << p1.status().message;
  EXPECT_EQ(p1->user_id, user_);
  EXPECT_NE(t1, std::this_thread::get_id()) << "the store lookup ran on a worker";
  EXPECT_TRUE(authn.in_memory(Auth::api_key, hash));
  Flow second(pool, false, true);
  auto [p2, t2] = finish(who(authn, r, Auth::api_key, hash, second));
  ASSERT_TRUE(p2.ok());
  EXPECT_EQ(t2, std::this_thread::get_id()) << "a verified key is answered from memory, without a hop";
  EXPECT_FALSE(second.on_worker());
}

TEST_F(StepsTest, AuthenticationRefusesTokensOnKeyRoutesForeignCookieChangesAndGarbage) {
  Authentication authn(*auth_);
  authn.set_public_url("https://varg.example/app");
  EXPECT_EQ(authn.key_hash(request("GET", "/")), "");
  EXPECT_EQ(authn.key_hash(request("GET", "/", bearer_of("vat_abc"))), "");
  auto token = authn.now(request("POST", "/v1/image", bearer_of(std::string(AccessToken::kPrefix) + "x")), Auth::api_key, "");
  EXPECT_EQ(token.status().message, "Access tokens are not accepted here; use an API key");
  const std::string session = std::string(AccessToken::kPrefix) + "x";
  Headers cookie = {{"cookie", std::string(kSessionCookie) + "=" + session}, {"origin", "https://evil.example"}};
  auto csrf = authn.now(request("POST", "/api/keys", cookie), Auth::key_or_session, "");
  EXPECT_EQ(csrf.status().code, Code::forbidden);
  cookie[1].second = "https://varg.example";
  auto same = authn.now(request("POST", "/api/keys", cookie), Auth::key_or_session, "");
  EXPECT_EQ(same.status().code, Code::unauthorized) << "past the Origin check, an unknown session";
  auto garbage = authn.now(request("GET", "/v1/balance", bearer_of("varg_nonsense")), Auth::api_key, "");
  EXPECT_EQ(garbage.status().message, Authenticator::kInvalid);
  auto vast = authn.now(request("GET", "/api/v0/users/current"), Auth::key_or_session, "");
  EXPECT_EQ(vast.status().code, Code::unauthorized);
}

TEST(PermissionStep, AScopedKeyNeedsTheRoutesPermissionAndFullRightsPassEverything) {
  RouteSpec route;
  route.category = "billing_read";
  route.api_name = "api.billing.balance";
  Principal full;
  EXPECT_TRUE(check_permission(full, route, request("GET", "/v1/balance")).ok());
  Principal scoped;
  scoped.permissions = std::make_shared<const Permissions>(*Permissions::parse(json::parse(R"({"api":{"user_read":{}}})")));
  Status refused = check_permission(scoped, route, request("GET", "/v1/balance"));
  EXPECT_EQ(refused.code, Code::forbidden);
  EXPECT_EQ(refused.message, "This API key does not have the 'billing_read' permission for api.billing.balance");
  RouteSpec open;
  EXPECT_TRUE(check_permission(scoped, open, request("GET", "/v1/models")).ok());
}

Task<std::pair<Status, std::thread::id>> limited(RateLimiter& l, const Request& r, Flow& flow, int64_t user = 7) {
  Status s = co_await l.run(r, user, flow);
  co_return std::pair{s, std::this_thread::get_id()};
}

TEST(RateLimitStep, OnlyChangesCountAndTheInProcessCountNeverHops) {
  ManualClock clock(1'800'000'000'000);
  RateLimiter limiter(clock, 3);
  WorkerPool pool(1, 8);
  for (int i = 0; i < 10; i++) {
    Flow flow(pool, false, false);
    auto [s, t] = finish(limited(limiter, request("GET", "/v1/balance"), flow));
    EXPECT_TRUE(s.ok());
  }
  for (int i = 0; i < 3; i++) {
    Flow flow(pool, false, false);
    auto [s, t] = finish(limited(limiter, request("POST", "/v1/image"), flow));
    EXPECT_TRUE(s.ok()) << i;
    EXPECT_EQ(t, std::this_thread::get_id());
  }
  Flow flow(pool, false, false);
  auto [s, t] = finish(limited(limiter, request("POST", "/v1/image"), flow));
  EXPECT_EQ(s.code, Code::rate_limited);
  EXPECT_GT(s.retry_after, 0);
}

// Instances sharing a store take slots from it in batches and spend them from memory: together
// they never admit more than the limit, refuse at most a batch minus one each below it, and a
// request spending a slot in memory does not hop to a worker.
TEST(RateLimitStep, SharedInstancesTakeSlotsInBatchesAndNeverExceedTheLimit) {
  testing::TempSqlite db("varg-rate");
  auto u = db.store->create_user("a@example.com", 1'800'000'000);
  ASSERT_TRUE(u.ok());
  ManualClock clock(1'800'000'000'000 - 1'800'000'000'000 % 60000);
  RateLimiter a(clock, 640, db.store.get()), b(clock, 640, db.store.get());
  ASSERT_EQ(a.batch(), 10);
  WorkerPool pool(1, 8);
  int admitted = 0, here = 0;
  for (int i = 0; i < 800; i++) {
    Flow flow(pool, false, false);
    auto s = finish(limited(i % 3 ? a : b, request("POST", "/v1/image"), flow, u->id));
    if (s.first.ok()) admitted++;
    else EXPECT_EQ(s.first.code, Code::rate_limited);
    if (s.second == std::this_thread::get_id()) here++;
  }
  EXPECT_LE(admitted, 640) << "two instances gave more than one budget";
  EXPECT_GE(admitted, 640 - 2 * (a.batch() - 1));
  EXPECT_GE(here, 500) << "slots in memory are spent without a hop";
  clock.advance_ms(120000);  // a new window: the budget is back
  Flow flow(pool, false, false);
  EXPECT_TRUE(finish(limited(a, request("POST", "/v1/image"), flow, u->id)).first.ok());
}

Task<Result<Response>> answer(int* calls) {
  (*calls)++;
  Response r;
  r.status = 201;
  r.body = R"({"made":)" + std::to_string(*calls) + "}";
  co_return r;
}

TEST_F(StepsTest, IdempotencyRunsTheHandlerOncePerScopeAndReplaysItsAnswer) {
  Idempotency idem(*store_, clock_);
  WorkerPool pool(1, 8);
  RouteSpec route;
  route.method = "POST";
  route.pattern = "/api/things";
  int calls = 0;
  const std::function<Task<Result<Response>>()> next = [&calls] { return answer(&calls); };
  auto once = [&](const std::string& body, const std::string& key) {
    Request r = request("POST", "/api/things", {{"idempotency-key", key}}, body);
    Ctx ctx{r, {}, {}, "req_1", Family::app};
    ctx.principal.user_id = user_;
    Flow flow(pool, false, true);
    return finish(idem.run(ctx, route, flow, next));
  };
  auto first = once("{\"a\":1}", "k1");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->body, R"({"made":1})");
  auto again = once("{\"a\":1}", "k1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->body, R"({"made":1})");
  EXPECT_EQ(calls, 1);
  bool replayed = false;
  for (auto& [k, v] : again->headers) replayed = replayed || (k == "Idempotent-Replayed" && v == "true");
  EXPECT_TRUE(replayed);
  auto other = once("{\"a\":2}", "k1");
  EXPECT_EQ(other.status().code, Code::conflict);
  auto too_long = once("{}", std::string(256, 'k'));
  EXPECT_EQ(too_long.status().field, "Idempotency-Key");
  EXPECT_EQ(calls, 1);
}

TEST(AccessLogStep, OneLineWithTheRouteStatusDurationAndIdsButNoCredential) {
  Request r = request("GET", "/v1/balance", {{"authorization", "Bearer varg_secretsecret"}});
  Ctx ctx{r, {}, {}, "req_abc", Family::gateway};
  ctx.principal.user_id = 5;
  ctx.principal.key_id = 9;
  std::string line = access_line(r, "/v1/balance", 200, 123, ctx);
  EXPECT_EQ(line, R"({"msg":"request","method":"GET","route":"/v1/balance","status":200,"duration_us":123,)"
                  R"("request_id":"req_abc","key_id":9,"user_id":5})");
  EXPECT_TRUE(json::parse(line).is_object());
}

// ---- the chain ----

TEST_F(StepsTest, ARequestAnsweredFromMemoryNeverLeavesItsThread) {
  Metrics metrics;
  Api api(Api::Options{1 << 20, 2, 64, false, true}, *auth_, metrics);
  std::atomic<int> handled{0};
  api.add({"GET", "/v1/here", "", Auth::api_key, "", "", nullptr, 0, [&handled](Ctx&) -> Result<Response> {
             handled++;
             return json_response(200, {{"ok", true}});
           },
           true});
  api.add({"POST", "/v1/there", "", Auth::api_key, "", "", nullptr, 0, [](Ctx&) -> Result<Response> {
             return json_response(200, {{"ok", true}});
           }});
  auto through = [&](const std::string& method, const std::string& path) {
    std::promise<std::thread::id> p;
    auto f = p.get_future();
    api.handle(request(method, path, bearer_of(key_)), [&p](Response r) {
      EXPECT_EQ(r.status, 200) << r.body;
      p.set_value(std::this_thread::get_id());
    });
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return f.get();
  };
  EXPECT_NE(through("GET", "/v1/here"), std::this_thread::get_id()) << "the first use of a key is a store lookup";
  EXPECT_EQ(through("GET", "/v1/here"), std::this_thread::get_id()) << "a cached key and a local read: no hop";
  EXPECT_NE(through("POST", "/v1/there"), std::this_thread::get_id()) << "a synchronous handler that may write";
  EXPECT_EQ(handled, 2);
}

}  // namespace
}  // namespace varg
