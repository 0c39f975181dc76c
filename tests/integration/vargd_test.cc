// The real vargd over real HTTP on loopback: accounts, keys, the error dialects, limits and
// misbehaving clients. Each test gets its own vargd on port 0 in its own temp dir.
#include <sys/socket.h>

#include <regex>
#include <thread>

#include "fixture.h"

namespace varg::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const json kGatewayUnauthorized = {{"error", {{"code", "unauthorized"}, {"message", "Invalid or missing API key"}}},
                                   {"message", "Invalid or missing API key"},
                                   {"statusCode", 401}};

// ---- accounts ----

TEST_F(VargdTest, BalanceShowsCreditsFromAdminCreateUserAndGrant) {
  const std::string key = server_->create_user("alice@example.com", 1000);
  auto x = get("/v1/balance", key);
  ASSERT_EQ(x.response.status, 200) << x;
  EXPECT_EQ(body(x), (json{{"balance_cents", 1000}, {"currency", "usd"}, {"reserved_cents", 0}})) << x;

  RunResult g = run_vargd(dir_.path(), {"admin", "grant", "--email", "alice@example.com", "--credits", "250", "--reason", "promo"});
  ASSERT_EQ(g.exit_code, 0) << g.out << g.err;
  EXPECT_NE(g.out.find("1250"), std::string::npos) << g.out;
  x = get("/v1/balance", key);
  ASSERT_EQ(x.response.status, 200) << x;
  EXPECT_EQ(body(x)["balance_cents"], 1250) << x;
  EXPECT_EQ(x.response.header("content-type"), "application/json") << x;
}

TEST_F(VargdTest, MeDescribesTheCallersAccount) {
  const std::string key = server_->create_user("Me@Example.com", 42);
  auto x = get("/v1/me", key);
  ASSERT_EQ(x.response.status, 200) << x;
  json b = body(x);
  EXPECT_EQ(b["email"], "me@example.com") << x;
  EXPECT_TRUE(b["userId"].is_string()) << x;
  EXPECT_EQ(b["id"], b["userId"]) << x;
  EXPECT_EQ(b["balance_cents"], 42) << x;
  EXPECT_TRUE(std::regex_match(b["created_at"].get<std::string>(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"))) << x;
}

TEST_F(VargdTest, HealthzAnswersWithoutAKey) {
  auto x = get("/healthz");
  EXPECT_EQ(x.response.status, 200) << x;
  EXPECT_EQ(body(x)["status"], "ok") << x;
}

// ---- bad keys ----

TEST_F(VargdTest, MissingKeyIs401InGatewayDialect) {
  auto x = get("/v1/balance");
  EXPECT_EQ(x.response.status, 401) << x;
  EXPECT_EQ(body(x), kGatewayUnauthorized) << x;
}

TEST_F(VargdTest, EmptyBearerIsTreatedAsAMissingKey) {
  for (const char* value : {"Bearer ", "Bearer", "Bearer    "}) {
    auto x = http(port_, "GET", "/v1/balance", {{"Authorization", value}});
    EXPECT_EQ(x.response.status, 401) << x;
    EXPECT_EQ(body(x), kGatewayUnauthorized) << x;
  }
}

TEST_F(VargdTest, GarbledWrongChecksumAndUnknownKeysGetTheSame401) {
  const std::string key = server_->create_user("a@example.com", 1);
  std::string wrong_checksum = key;
  wrong_checksum.back() = wrong_checksum.back() == 'a' ? 'b' : 'a';
  std::string unknown = key;  // a valid shape with a fresh random part is unknown to this server
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"garbled", "not a key at all"},
      {"garbled with prefix", "varg_!!!"},
      {"wrong checksum", wrong_checksum},
      {"wrong prefix", "sk_" + key.substr(5)},
      {"truncated", key.substr(0, 42)},
  };
  for (auto& [why, k] : cases) {
    auto x = get("/v1/balance", k);
    EXPECT_EQ(x.response.status, 401) << why << x;
    EXPECT_EQ(body(x), kGatewayUnauthorized) << why << x;
    auto app = get("/api/keys", k);
    EXPECT_EQ(app.response.status, 401) << why << app;
    EXPECT_EQ(body(app), (json{{"error", "Invalid or missing API key"}, {"code", "unauthorized"}, {"statusCode", 401}}))
        << why << app;
  }
  EXPECT_EQ(get("/v1/balance", key).response.status, 200);
}

TEST_F(VargdTest, RevokedKeyFailsWithinOneSecondOfDelete) {
  const std::string admin_key = server_->create_user("a@example.com", 10);
  auto created = post("/api/keys", admin_key, R"({"name":"to revoke"})");
  ASSERT_EQ(created.response.status, 201) << created;
  const std::string key = body(created)["key"];
  const int64_t id = body(created)["id"];
  ASSERT_EQ(get("/v1/balance", key).response.status, 200);  // cached as verified

  auto d = del("/api/keys/" + std::to_string(id), admin_key);
  ASSERT_EQ(d.response.status, 200) << d;
  const auto revoked_at = Clock::now();
  Exchange last;
  while (Clock::now() - revoked_at < 1100ms) {
    last = get("/v1/balance", key);
    if (last.response.status == 401) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(last.response.status, 401) << "revoked key still accepted 1.1 s later" << last;
  EXPECT_EQ(body(last), kGatewayUnauthorized) << last;
  EXPECT_EQ(del("/api/keys/" + std::to_string(id), admin_key).response.status, 404) << "revoking twice";
}

TEST_F(VargdTest, KeyRevokedByAdminCommandFailsWithinOneSecond) {
  const std::string key = server_->create_user("a@example.com", 10);
  auto keys = get("/api/keys", key);
  ASSERT_EQ(keys.response.status, 200) << keys;
  const int64_t id = body(keys)["keys"][0]["id"];
  // Another process (as another instance would) revokes it; this server has it cached.
  RunResult r = run_vargd(dir_.path(), {"admin", "revoke-key", std::to_string(id)});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto revoked_at = Clock::now();
  Exchange last;
  while (Clock::now() - revoked_at < 1100ms) {
    last = get("/v1/balance", key);
    if (last.response.status == 401) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(last.response.status, 401) << "key revoked by `vargd admin revoke-key` still accepted 1.1 s later" << last;
}

TEST_F(VargdTest, ExpiredKeyIs401) {
  const std::string admin_key = server_->create_user("a@example.com", 10);
  auto created = post("/api/keys", admin_key, R"({"name":"short-lived","expires_in":1})");
  ASSERT_EQ(created.response.status, 201) << created;
  EXPECT_TRUE(body(created)["expires_at"].is_string()) << created;
  const std::string key = body(created)["key"];
  std::this_thread::sleep_for(2100ms);
  auto x = get("/v1/balance", key);
  EXPECT_EQ(x.response.status, 401) << x;
  EXPECT_EQ(body(x), kGatewayUnauthorized) << x;
}

// ---- bad bodies ----

TEST_F(VargdTest, MalformedJsonIs400AndWritesNothing) {
  const std::string key = server_->create_user("a@example.com", 10);
  const size_t before = key_count(key);
  for (const char* bad : {R"({"name":)", "{name: 'x'}", "not json", R"({"name":"x"}})", "[1,2]", "\"name\""}) {
    auto x = post("/api/keys", key, bad);
    EXPECT_EQ(x.response.status, 400) << x;
    json b = body(x);
    EXPECT_EQ(b["code"], "validation_error") << x;
    EXPECT_EQ(b["statusCode"], 400) << x;
    EXPECT_TRUE(b["error"].is_string() && !b["error"].get<std::string>().empty()) << x;
  }
  EXPECT_EQ(key_count(key), before) << "a malformed request created a key";
}

TEST_F(VargdTest, WrongJsonTypesAre400NamingTheFieldAndWriteNothing) {
  const std::string key = server_->create_user("a@example.com", 10);
  const size_t before = key_count(key);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"name":123})", "name"},
      {R"({"name":["x"]})", "name"},
      {R"({})", "name"},
      {R"({"name":"x","expires_in":"tomorrow"})", "expires_in"},
      {R"({"name":"x","expires_in":true})", "expires_in"},
      {R"({"name":"x","expires_in":-60})", "expires_in"},
      {R"({"name":"x","permissions":"everything"})", "permissions"},
      {R"({"name":"x","permissions":{"api":{"superuser":{}}}})", "permissions"},
  };
  for (auto& [b, field] : cases) {
    auto x = post("/api/keys", key, b);
    EXPECT_EQ(x.response.status, 400) << x;
    EXPECT_EQ(body(x)["field"], field) << x;
    if (field != "permissions") {  // those name the bad category instead
      EXPECT_NE(body(x)["error"].get<std::string>().find(field), std::string::npos) << x;
    }
  }
  EXPECT_EQ(key_count(key), before) << "an invalid request created a key";
}

TEST_F(VargdTest, OversizedBodyIs413AndWritesNothing) {
  const std::string key = server_->create_user("a@example.com", 10);
  const size_t before = key_count(key);
  const std::string big = R"({"name":")" + std::string(5 << 20, 'x') + R"("})";
  for (bool expect_continue : {false, true}) {
    Headers h = bearer(key);
    h.emplace_back("Content-Type", "application/json");
    if (expect_continue) h.emplace_back("Expect", "100-continue");
    Exchange x;
    x.request = build_request("POST", "/api/keys", h, big);
    Connection c;
    ASSERT_TRUE(c.connect(port_));
    c.send(x.request);  // the server may stop reading early; what matters is its answer
    x.response = c.read_response();
    EXPECT_EQ(x.response.status, 413) << (expect_continue ? "with Expect: 100-continue" : "without Expect") << x;
    EXPECT_EQ(body(x)["code"], "payload_too_large") << x;
    EXPECT_EQ(body(x)["statusCode"], 413) << x;
    EXPECT_TRUE(x.response.has_header("x-request-id")) << x;
  }
  EXPECT_EQ(key_count(key), before);
  EXPECT_EQ(get("/healthz").response.status, 200) << "server still serving";
}

TEST_F(VargdTest, OversizedChunkedBodyIs413) {
  const std::string key = server_->create_user("a@example.com", 10);
  std::string chunked;
  const std::string chunk(64 << 10, 'x');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  for (int i = 0; i < 80; i++) chunked += size_line + chunk + "\r\n";  // 5 MiB
  chunked += "0\r\n\r\n";
  Headers h = bearer(key);
  h.emplace_back("Transfer-Encoding", "chunked");
  Exchange x;
  x.request = build_request("POST", "/v1/image", h, chunked);
  Connection c;
  ASSERT_TRUE(c.connect(port_));
  c.send(x.request);
  x.response = c.read_response();
  EXPECT_EQ(x.response.status, 413) << x;
  EXPECT_EQ(body(x)["error"]["code"], "payload_too_large") << x;
}

TEST_F(VargdTest, OversizedHeadersAre431) {
  Exchange x;
  x.request = build_request("GET", "/v1/balance", {{"X-Padding", std::string(64 << 10, 'p')}}, "");
  Connection c;
  ASSERT_TRUE(c.connect(port_));
  c.send(x.request);
  x.response = c.read_response();
  EXPECT_EQ(x.response.status, 431) << x;
  EXPECT_TRUE(x.response.has_header("x-request-id")) << x;
  json b = body(x);
  ASSERT_FALSE(b.is_discarded()) << x;
  EXPECT_EQ(b["statusCode"], 431) << "the body's statusCode must match the HTTP status" << x;
  EXPECT_EQ(get("/healthz").response.status, 200) << "server still serving";
}

// ---- routing ----

TEST_F(VargdTest, UnknownRouteIs404InEachFamilysDialect) {
  const std::string key = server_->create_user("a@example.com", 10);
  auto gw = get("/v1/x", key);
  EXPECT_EQ(gw.response.status, 404) << gw;
  EXPECT_EQ(body(gw)["error"]["code"], "not_found") << gw;
  EXPECT_EQ(body(gw)["statusCode"], 404) << gw;
  EXPECT_TRUE(body(gw)["message"].is_string()) << gw;

  auto app = get("/api/x", key);
  EXPECT_EQ(app.response.status, 404) << app;
  EXPECT_EQ(body(app)["code"], "not_found") << app;
  EXPECT_TRUE(body(app)["error"].is_string()) << app;
  EXPECT_EQ(body(app)["statusCode"], 404) << app;

  auto vast = get("/api/v0/x/", key);
  EXPECT_EQ(vast.response.status, 404) << vast;
  EXPECT_EQ(body(vast)["success"], false) << vast;
  EXPECT_EQ(body(vast)["error"], "not_found") << vast;
  EXPECT_TRUE(body(vast)["msg"].is_string()) << vast;
}

TEST_F(VargdTest, WrongMethodIs405WithAllow) {
  const std::string key = server_->create_user("a@example.com", 10);
  auto x = http(port_, "DELETE", "/v1/balance", bearer(key));
  EXPECT_EQ(x.response.status, 405) << x;
  EXPECT_EQ(x.response.header("allow"), "GET") << x;
  EXPECT_EQ(body(x)["error"]["code"], "method_not_allowed") << x;
  auto y = http(port_, "PUT", "/api/keys", bearer(key), "{}");
  EXPECT_EQ(y.response.status, 405) << y;
  std::string allow = y.response.header("allow");
  EXPECT_NE(allow.find("GET"), std::string::npos) << y;
  EXPECT_NE(allow.find("POST"), std::string::npos) << y;
  EXPECT_EQ(body(y)["code"], "method_not_allowed") << y;
}

TEST_F(VargdTest, EveryResponseCarriesARequestIdAndEchoesASaneOne) {
  const std::string key = server_->create_user("a@example.com", 10);
  std::vector<Exchange> all = {get("/healthz"), get("/v1/balance", key), get("/v1/balance"), get("/nowhere"),
                               http(port_, "PATCH", "/v1/balance"), post("/api/keys", key, "{")};
  for (auto& x : all) {
    std::string id = x.response.header("x-request-id");
    EXPECT_TRUE(id.starts_with("req_") && id.size() > 8) << x;
  }
  EXPECT_NE(all[0].response.header("x-request-id"), all[1].response.header("x-request-id"));
  auto echoed = http(port_, "GET", "/healthz", {{"X-Request-Id", "trace-abc.123"}});
  EXPECT_EQ(echoed.response.header("x-request-id"), "trace-abc.123") << echoed;
  auto replaced = http(port_, "GET", "/healthz", {{"X-Request-Id", "bad id with spaces"}});
  EXPECT_TRUE(replaced.response.header("x-request-id").starts_with("req_")) << replaced;
}

// ---- connections ----

TEST_F(VargdTest, KeepAliveServesTwoRequestsOnOneConnection) {
  const std::string key = server_->create_user("a@example.com", 7);
  Connection c;
  ASSERT_TRUE(c.connect(port_));
  Exchange a{build_request("GET", "/v1/balance", bearer(key), "", true), {}};
  ASSERT_TRUE(c.send(a.request));
  a.response = c.read_response();
  EXPECT_EQ(a.response.status, 200) << a;
  EXPECT_NE(a.response.header("connection"), "close") << a;
  Exchange b{build_request("GET", "/v1/me", bearer(key), "", true), {}};
  ASSERT_TRUE(c.send(b.request)) << "the server closed a keep-alive connection";
  b.response = c.read_response();
  EXPECT_EQ(b.response.status, 200) << b;
  EXPECT_EQ(body(b)["balance_cents"], 7) << b;
}

TEST_F(VargdTest, ClientThatDisconnectsMidResponseDoesNotDisturbTheServer) {
  // Many pipelined requests, then an abrupt reset before reading the answers.
  for (int round = 0; round < 5; round++) {
    Connection c;
    ASSERT_TRUE(c.connect(port_));
    std::string many;
    for (int i = 0; i < 50; i++) many += build_request("GET", "/openapi.json", {}, "", true);
    c.send(many);
    std::this_thread::sleep_for(20ms);
    c.reset();
  }
  // A client that reads a few bytes of a response and leaves.
  {
    Connection c;
    ASSERT_TRUE(c.connect(port_));
    c.send(build_request("GET", "/metrics", {}, "", true));
    char buf[16];
    ASSERT_GT(::recv(c.fd(), buf, sizeof buf, 0), 0);
    c.close();
  }
  EXPECT_TRUE(server_->running());
  auto x = get("/healthz");
  EXPECT_EQ(x.response.status, 200) << x;
}

// ---- observability ----

TEST_F(VargdTest, MetricsCountRequestsInPrometheusFormat) {
  const std::string key = server_->create_user("a@example.com", 10);
  ASSERT_EQ(get("/v1/balance", key).response.status, 200);
  auto m = get("/metrics");
  ASSERT_EQ(m.response.status, 200) << m;
  EXPECT_TRUE(m.response.header("content-type").starts_with("text/plain")) << m;
  EXPECT_NE(m.response.body.find("# TYPE varg_http_requests_total counter"), std::string::npos) << m;
  EXPECT_NE(m.response.body.find(R"(varg_http_requests_total{method="GET",route="/v1/balance",status="200"} 1)"),
            std::string::npos) << m;
  EXPECT_NE(m.response.body.find("varg_http_request_duration_seconds_bucket"), std::string::npos) << m;
  EXPECT_NE(m.response.body.find("process_resident_memory_bytes"), std::string::npos) << m;
}

TEST_F(VargdTest, OpenApiListsEveryRouteAndOnlyRoutesThatExist) {
  const std::string key = server_->create_user("a@example.com", 10);
  auto x = get("/openapi.json");
  ASSERT_EQ(x.response.status, 200) << x;
  json doc = body(x);
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.") << x;
  json paths = doc["paths"];
  for (auto [p, m] : std::vector<std::pair<const char*, const char*>>{
           {"/healthz", "get"}, {"/metrics", "get"}, {"/openapi.json", "get"}, {"/v1/balance", "get"}, {"/v1/me", "get"},
           {"/api/keys", "get"}, {"/api/keys", "post"}, {"/api/keys/{id}", "get"}, {"/api/keys/{id}", "delete"}})
    EXPECT_TRUE(paths.contains(p) && paths[p].contains(m)) << m << " " << p << " is missing from /openapi.json";
  // Every documented operation is routed (a wrong id may 404, but never as "No route").
  for (auto& [p, methods] : paths.items())
    for (auto& [m, op] : methods.items()) {
      if (m == "delete" || m == "post" || m == "put") continue;  // no side effects from this check
      std::string path = std::regex_replace(p, std::regex(R"(\{[^}]*\})"), "0");
      auto r = get(path, key);
      EXPECT_EQ(r.response.body.find("No route for"), std::string::npos) << "documented but not routed: " << p << r;
    }
}

TEST_F(VargdTest, AccessLogIsJsonPerRequestAndNeverContainsAKey) {
  const std::string key = server_->create_user("a@example.com", 10);
  get("/v1/balance", key);
  auto created = post("/api/keys", key, R"({"name":"body-marker-123"})");
  ASSERT_EQ(created.response.status, 201) << created;
  const std::string new_key = body(created)["key"];
  get("/v1/balance", new_key);
  get("/api/v0/users/current/?api_key=" + new_key);
  get("/v1/balance", key.substr(0, 42) + "Z");  // a bad key is still a secret-looking string
  http(port_, "GET", "/healthz", {{"X-Request-Id", "log-probe-1"}});
  std::this_thread::sleep_for(1300ms);  // the log is flushed every second
  const std::string log = server_->err();
  EXPECT_EQ(find_key(log), "") << "a key appears in the access log:\n" << log;
  EXPECT_EQ(log.find(key.substr(5, 16)), std::string::npos) << log;
  EXPECT_EQ(log.find(new_key.substr(5, 16)), std::string::npos) << log;
  EXPECT_EQ(log.find("body-marker-123"), std::string::npos) << "request bodies must not be logged\n" << log;
  int requests = 0;
  bool probe = false;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
    const json& ev = j.contains("event") ? j["event"] : j;
    if (ev.value("msg", "") != "request") continue;
    requests++;
    for (const char* f : {"method", "route", "status", "duration_us", "request_id"})
      EXPECT_TRUE(ev.contains(f)) << f << " missing: " << line;
    if (ev["request_id"] == "log-probe-1") probe = ev["route"] == "/healthz" && ev["status"] == 200;
  }
  EXPECT_GE(requests, 6) << log;
  EXPECT_TRUE(probe) << "no access-log line for the probe request:\n" << log;
}

TEST_F(VargdTest, FirstLinesTellHowToGetAKey) {
  const std::string out = server_->out();
  EXPECT_TRUE(out.starts_with("vargd listening on http://127.0.0.1:")) << out;
  EXPECT_NE(out.find("vargd admin create-user --email"), std::string::npos) << out;
}

// ---- slow clients ----

class SlowClientTest : public VargdTest {
 protected:
  std::vector<std::string> extra_args() override { return {"--read-timeout-ms", "500"}; }
};

TEST_F(SlowClientTest, HalfSentHeadersAreCutOffAndOthersAreStillServed) {
  Connection stalled;
  ASSERT_TRUE(stalled.connect(port_));
  ASSERT_TRUE(stalled.send("GET /v1/balance HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Partial: "));
  const auto t0 = Clock::now();
  auto other = get("/healthz");  // served while the other client stalls
  EXPECT_EQ(other.response.status, 200) << other;
  EXPECT_TRUE(stalled.closed_by_peer(5s)) << "a stalled client kept its connection for 5 s";
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_EQ(get("/healthz").response.status, 200);
}

TEST_F(SlowClientTest, HalfSentBodyIsCutOffAndWritesNothing) {
  const std::string key = server_->create_user("a@example.com", 10);
  const size_t before = key_count(key);
  Connection stalled;
  ASSERT_TRUE(stalled.connect(port_));
  std::string req = build_request("POST", "/api/keys", bearer(key), R"({"name":"never finished"})");
  ASSERT_TRUE(stalled.send(req.substr(0, req.size() - 10)));
  EXPECT_TRUE(stalled.closed_by_peer(5s)) << "a client stalling in its body kept its connection for 5 s";
  EXPECT_EQ(key_count(key), before);
}

class StalledClientsTest : public VargdTest {
 protected:
  std::vector<std::string> extra_args() override { return {"--read-timeout-ms", "3000"}; }
};

TEST_F(StalledClientsTest, ManyStalledClientsDoNotBlockOthers) {
  std::vector<std::unique_ptr<Connection>> stalled;
  for (int i = 0; i < 20; i++) {
    auto c = std::make_unique<Connection>();
    ASSERT_TRUE(c->connect(port_));
    c->send("POST /api/keys HTTP/1.1\r\n");
    stalled.push_back(std::move(c));
  }
  auto x = get("/healthz");
  EXPECT_EQ(x.response.status, 200) << x;
  // The healthy request was served while every stalled client still held its connection...
  for (auto& c : stalled) EXPECT_FALSE(c->closed_by_peer(0ms));
  // ...and each of them is cut off once the read deadline passes.
  for (auto& c : stalled) EXPECT_TRUE(c->closed_by_peer(10s));
}

}  // namespace
}  // namespace varg::test
