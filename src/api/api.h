// The request pipeline: one coroutine per request (Api::serve), a chain of small named steps, each
// in its own file under api/pipeline/ with its own test (the shape of Envoy's HTTP filters):
//   request id → route (matched once; 404/405) → authentication (the key hashed once) →
//   permission → rate limit → idempotency → handler → error mapping (the route family's dialect)
//   → access log and metrics.
// It starts on the network thread and moves to the worker pool once, at the first step that may
// block (api/pipeline/flow.h): a request answered from memory — a cached key, a local read, a
// cache hit — never leaves the network thread.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/metrics.h"
#include "api/pipeline/authentication.h"
#include "api/pipeline/idempotency.h"
#include "api/pipeline/rate_limit.h"
#include "api/pipeline/route.h"
#include "common/status.h"
#include "common/worker_pool.h"
#include "http/message.h"
#include "http/router.h"

namespace varg {

Response json_response(int status, const json& body);
Response error_response(Family f, const Status& s);

class Api final : public HttpHandler {
 public:
  struct Options {
    size_t json_body_limit = 1 << 20;
    int workers = 16;
    size_t max_queue = 4096;
    // Behind a load balancer: the client address is the last hop of X-Forwarded-For (the one our
    // own proxy appended), not the socket's peer. Off by default: a client could forge the header.
    bool trust_forwarded_for = false;
    // The store answers reads from this process without blocking (SQLite in WAL mode): routes marked
    // inline_read may then run on the network thread. Off for PostgreSQL (a read is a round trip).
    bool inline_reads = false;
  };
  Api(Options opts, Authenticator& auth, Metrics& metrics);
  ~Api() override;

  RouteSpec& add(RouteSpec spec);
  // Limits requests per minute per credential (the pipeline's rate-limit step).
  void enable_rate_limit(std::unique_ptr<RateLimiter> limiter) { limiter_ = std::move(limiter); }
  // The server's own origin ("http://host:port" of --public-url): a state-changing request
  // authenticated by the session cookie must come from it (CSRF), or from its Host.
  void set_public_origin(const std::string& origin) { authn_.set_public_url(origin); }
  // Enables Idempotency-Key on every authenticated POST (SPEC 7), stored for 24 h.
  void enable_idempotency(Store& store, const Clock& clock) { idempotency_ = std::make_unique<Idempotency>(store, clock); }

  // HttpHandler
  void handle(Request req, std::function<void(Response)> done) override;
  size_t body_limit(std::string_view method, std::string_view path) const override;
  Response refuse(std::string_view path, int status, const std::string& message) override;
  void precheck(Request head, std::function<void(std::optional<Response>)> done) override;

  // An in-process request on behalf of an account already authenticated (MCP with an OAuth token):
  // the authentication step takes `who` instead of reading a credential. Never reachable from HTTP.
  void handle_as(Request req, Principal who, std::function<void(Response)> done);
  // The permission step alone, for an in-process request before it is made (MCP checks it before
  // fetching what the request would carry). Ok for a request no route takes: it answers itself.
  Status permitted(const Principal& who, const Request& req) const;
  // The whole pipeline for one request, on the calling thread (which may block).
  Response run(const Request& req);
  json openapi() const;

 private:
  // What is worked out once per request before the steps run: the route, matched once, and the
  // API key's hash, computed once (the authentication cache and the store are keyed by it).
  struct Prepared {
    Router::Match match;
    std::string key_hash;
    std::optional<Principal> as{};  // handle_as
    Status refused{};               // precheck's answer: the pipeline stops at authentication with it
  };
  Prepared prepare(const Request& req) const;
  const RouteSpec* route_of(const Prepared& p) const {
    return p.match.kind == Router::Match::found ? &routes_[p.match.index] : nullptr;
  }
  Response run(const Request& req, Prepared p);
  // The pipeline as a coroutine; `on_worker`: the calling thread may block (nothing hops).
  Task<Response> serve(const Request& req, Prepared p, bool on_worker);
  Task<Result<Response>> steps(Ctx& ctx, Prepared& p, Flow& flow);
  Task<Result<Response>> call_handler(const RouteSpec& route, Ctx& ctx, Flow& flow);
  void start(Request req, Prepared p, std::function<void(Response)> done);

  Options opts_;
  Metrics& metrics_;
  Authentication authn_;
  Router router_;
  std::vector<RouteSpec> routes_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<Idempotency> idempotency_;
};

}  // namespace varg
