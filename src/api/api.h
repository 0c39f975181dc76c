// The request pipeline. Every route passes through the same steps, in order:
//   request id → route match (404/405) → authentication → permission → rate limit → handler →
//   error mapping (the route family's dialect) → metrics and one access-log line.
// Handlers are synchronous and run on the worker pool, so store calls never block a network thread;
// the one exception is RouteSpec::inline_read on a local store (a WAL read never waits for a lock).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/metrics.h"
#include "api/rate_limit.h"
#include "auth/authenticator.h"
#include "common/status.h"
#include "common/worker_pool.h"
#include "http/message.h"
#include "http/router.h"

namespace varg {

using json = nlohmann::json;

enum class Family { gateway, app, vast };  // SPEC 9: one error dialect per client family
Family family_of(std::string_view path);

enum class Auth {
  none,            // public
  api_key,         // API key only (generation routes refuse session tokens)
  key_or_session,  // API key or access token (app routes); also the dashboard's session cookie
  dashboard,       // the dashboard's session cookie only (its playground: docs/dashboard.md)
};

// The dashboard keeps its access token in this HttpOnly cookie (docs/dashboard.md).
inline constexpr const char* kSessionCookie = "varg_session";
// The value of the session cookie, or "" when the request has none.
std::string session_cookie(const Request& req);

struct Ctx {
  const Request& req;
  std::map<std::string, std::string> params;
  Principal principal;
  std::string request_id;
  Family family = Family::gateway;
  // A route with own_idempotency: the request's Idempotency-Key scope, for the handler to write
  // in its own transaction.
  std::optional<IdempotencyRecord> idempotency;
  const std::string& param(const std::string& name) const { return params.at(name); }
};

using Handler = std::function<Result<Response>(Ctx&)>;

struct RouteSpec {
  std::string method, pattern, summary;
  Auth auth = Auth::api_key;
  std::string category, api_name;  // the permission the route needs; empty category: any principal
  std::function<json(const Request&)> attrs;  // attributes for permission constraints (model, credits)
  size_t body_limit = 0;                      // 0: the JSON body limit
  Handler handler;
  // The handler only reads the store (never writes, never waits on a lock or the network): with a
  // local store it runs on the network thread when the caller's credential is already verified,
  // sparing two thread hand-offs on the hottest reads (SPEC 1: as fast as nginx on hot paths).
  bool inline_read = false;
  // The response shows a secret (a new API key): an Idempotency-Key retry is answered 409 rather
  // than from a stored copy, because no secret is ever stored.
  bool shows_secret = false;
  // The handler keeps the Idempotency-Key in its own transaction (generations: with the job, so no
  // crash can separate them); the pipeline only passes its scope in Ctx::idempotency.
  bool own_idempotency = false;
};

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
  // Enables Idempotency-Key on every authenticated POST (SPEC 7), stored for 24 h.
  // The server's own origin ("http://host:port" of --public-url): a state-changing request
  // authenticated by the session cookie must come from it (CSRF), or from its Host.
  void set_public_origin(std::string origin) { public_origin_ = std::move(origin); }
  // A pending record older than kIdempotencyPendingTtl is a claim whose process died: taken over.
  static constexpr int64_t kIdempotencyPendingTtl = 120;
  void enable_idempotency(Store& store, const Clock& clock) {
    idempotency_store_ = &store;
    idempotency_clock_ = &clock;
  }

  // HttpHandler
  void handle(Request req, std::function<void(Response)> done) override;
  size_t body_limit(std::string_view method, std::string_view path) const override;
  Response refuse(std::string_view path, int status, const std::string& message) override;
  void precheck(Request head, std::function<void(std::optional<Response>)> done) override;

  // The whole pipeline for one request, on the calling thread.
  Response run(const Request& req);
  json openapi() const;

 private:
  // What is worked out once per request, before the pipeline runs: the route, matched once, and
  // the API key's hash, computed once (the authentication cache and the store are keyed by it).
  struct Prepared {
    Router::Match match;
    std::string key_hash;
    const RouteSpec* route(const Api& api) const {
      return match.kind == Router::Match::found ? &api.routes_[match.index] : nullptr;
    }
  };
  Prepared prepare(const Request& req) const;
  Response run(const Request& req, Prepared p);
  Result<Response> pipeline(Ctx& ctx, Prepared& p);
  Result<Principal> authenticate(const Request& req, Auth mode, Family fam, const std::string& key_hash);
  Result<Response> with_idempotency(Ctx& ctx, const RouteSpec& route);
  Result<IdempotencyRecord> idempotency_scope(const Ctx& ctx, const RouteSpec& route) const;
  bool runs_inline(const Prepared& p);

  Options opts_;
  Authenticator& auth_;
  Metrics& metrics_;
  Router router_;
  std::vector<RouteSpec> routes_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<RateLimiter> limiter_;
  Store* idempotency_store_ = nullptr;
  const Clock* idempotency_clock_ = nullptr;
  std::string public_origin_;
};

}  // namespace varg
