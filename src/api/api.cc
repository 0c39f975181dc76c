#include "api/api.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "common/crypto.h"

namespace varg {

// Request ids need to be unique, not secret: a per-thread generator seeded from the CSPRNG once
// spares a getrandom(2) per request on the hot path.
std::string new_request_id() {
  thread_local uint64_t state = [] {
    uint64_t seed;
    std::string raw = random_bytes(sizeof seed);
    std::memcpy(&seed, raw.data(), sizeof seed);
    return seed;
  }();
  std::string id = "req_";
  for (int word = 0; word < 2; word++) {
    state += 0x9E3779B97F4A7C15ull;  // splitmix64
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    for (int i = 0; i < 10; i++, z /= 62) id.push_back(kBase62[z % 62]);
  }
  return id;
}

Family family_of(std::string_view path) {
  if (path.starts_with("/api/v0")) return Family::vast;
  if (path.starts_with("/api/")) return Family::app;
  return Family::gateway;
}

Response json_response(int status, const json& body) {
  Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

Response error_response(Family f, const Status& s) {
  const int status = http_status(s.code);
  // Internal errors never leak details; the access log line carries the request id to correlate.
  const std::string message = s.code == Code::internal ? "Internal server error" : s.message;
  json body;
  switch (f) {
    case Family::gateway:
      body = {{"error", {{"code", code_name(s.code)}, {"message", message}}}, {"message", message}, {"statusCode", status}};
      if (!s.field.empty()) body["field"] = s.field;
      if (!s.provider.empty()) body["provider"] = s.provider;
      break;
    case Family::app:
      body = {{"error", message}, {"code", code_name(s.code)}, {"statusCode", status}};
      if (!s.field.empty()) body["field"] = s.field;
      break;
    case Family::vast:
      body = {{"success", false}, {"error", code_name(s.code)},
              {"msg", s.code == Code::unauthorized ? std::string("Invalid user key") : message}};
      break;
  }
  Response r = json_response(status, body);
  if (s.code == Code::rate_limited || (s.code == Code::unavailable && s.retry_after > 0))
    r.set_header("Retry-After", std::to_string(std::max(1, s.retry_after)));
  return r;
}

namespace {
// The worker queue is full: try again in a second.
Status overloaded() {
  Status s = error(Code::unavailable, "Server is overloaded; retry shortly");
  s.retry_after = 1;
  return s;
}
}  // namespace

Api::Api(Options opts, Authenticator& auth, Metrics& metrics)
    : opts_(opts), auth_(auth), metrics_(metrics), pool_(std::make_unique<WorkerPool>(opts.workers, opts.max_queue)) {}

Api::~Api() { pool_.reset(); }

RouteSpec& Api::add(RouteSpec spec) {
  router_.add(spec.method, spec.pattern);
  routes_.push_back(std::move(spec));
  return routes_.back();
}

size_t Api::body_limit(std::string_view method, std::string_view path) const {
  auto m = router_.match(std::string(method), std::string(path));
  if (m.kind == Router::Match::found && routes_[m.index].body_limit) return routes_[m.index].body_limit;
  return opts_.json_body_limit;
}

Response Api::refuse(std::string_view path, int status, const std::string& message) {
  Code c = status == 413   ? Code::payload_too_large
           : status == 503 ? Code::unavailable
           : status == 408 ? Code::timeout
                           : Code::invalid;
  Status s = error(c, message);
  if (c == Code::unavailable) s.retry_after = 1;  // the front door is full for now
  Response r = error_response(family_of(path), s);
  if (status != http_status(c)) {  // e.g. 431: the body's statusCode must match the HTTP status
    json b = json::parse(r.body);
    if (b.contains("statusCode")) b["statusCode"] = status;
    r.body = b.dump();
  }
  r.status = status;
  r.set_header("X-Request-Id", new_request_id());
  return r;
}

void Api::handle(Request req, std::function<void(Response)> done) {
  if (opts_.trust_forwarded_for) {
    std::string_view xff = req.header("x-forwarded-for");
    if (auto comma = xff.rfind(','); comma != std::string_view::npos) xff.remove_prefix(comma + 1);
    while (!xff.empty() && xff.front() == ' ') xff.remove_prefix(1);
    while (!xff.empty() && xff.back() == ' ') xff.remove_suffix(1);
    if (!xff.empty() && xff.size() <= 45) req.remote_ip = std::string(xff);
  }
  // A deferred response (Prefer: wait) completes later, from whichever thread finishes the job.
  auto respond = [done](Response r) {
    if (!r.deferred) return done(std::move(r));
    auto later = std::move(r.deferred);
    std::string id;
    for (auto& [k, v] : r.headers)
      if (k == "X-Request-Id") id = v;
    later([done, id](Response final) {
      final.set_header("X-Request-Id", id);
      done(std::move(final));
    });
  };
  Prepared p = prepare(req);
  if (opts_.inline_reads && runs_inline(p)) return respond(run(req, std::move(p)));
  auto shared = std::make_shared<std::pair<Request, Prepared>>(std::move(req), std::move(p));
  bool queued = pool_->submit([this, shared, respond] { respond(run(shared->first, std::move(shared->second))); });
  if (!queued) done(error_response(family_of(shared->first.path), overloaded()));
}

namespace {

std::string_view bearer(const Request& req);

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':')) return false;
  return true;
}

std::string_view bearer(const Request& req) {
  std::string_view h = req.header("authorization");
  if (h.size() < 7 || !(h.substr(0, 7) == "Bearer " || h.substr(0, 7) == "bearer ")) return {};
  h.remove_prefix(7);
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  return h;
}

// scheme://host[:port] of a URL.
std::string origin_of(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  auto slash = url.find('/', scheme + 3);
  return std::string(url.substr(0, slash));
}

bool same_origin(const Request& req, const std::string& public_origin) {
  std::string_view origin = req.header("origin");
  if (origin.empty()) return false;
  if (!public_origin.empty() && origin == public_origin) return true;
  std::string_view host = req.header("host");
  return !host.empty() && (origin == "http://" + std::string(host) || origin == "https://" + std::string(host));
}

}  // namespace

std::string session_cookie(const Request& req) {
  std::string_view h = req.header("cookie");
  const std::string name = std::string(kSessionCookie) + "=";
  size_t i = 0;
  while (i < h.size()) {
    while (i < h.size() && (h[i] == ' ' || h[i] == ';')) i++;
    size_t end = h.find(';', i);
    if (end == std::string_view::npos) end = h.size();
    std::string_view part = h.substr(i, end - i);
    if (part.starts_with(name)) return std::string(part.substr(name.size()));
    i = end;
  }
  return {};
}

Api::Prepared Api::prepare(const Request& req) const {
  Prepared p;
  p.match = router_.match(req.method, req.path);
  std::string_view key = bearer(req);  // Vast's ?api_key= is rare: authenticate() hashes it
  if (!key.empty() && !key.starts_with(AccessToken::kPrefix)) p.key_hash = auth_.key_hash(key);
  return p;
}

bool Api::runs_inline(const Prepared& p) {
  const RouteSpec* route = p.route(*this);
  if (!route || !route->inline_read) return false;
  return route->auth == Auth::none || auth_.cached(p.key_hash);
}

void Api::precheck(Request head, std::function<void(std::optional<Response>)> done) {
  Prepared p = prepare(head);
  const RouteSpec* route = p.route(*this);
  if (!route) return done(run(head, std::move(p)));  // 404 or 405 whatever the body says
  if (route->auth == Auth::none || auth_.cached(p.key_hash)) return done(std::nullopt);
  // A credential lookup may touch the store: on a worker, never on the network thread.
  auto shared = std::make_shared<std::pair<Request, Prepared>>(std::move(head), std::move(p));
  bool queued = pool_->submit([this, shared, done, route] {
    auto& [req, prepared] = *shared;
    if (authenticate(req, route->auth, family_of(req.path), prepared.key_hash).ok()) return done(std::nullopt);
    done(run(req, std::move(prepared)));  // the pipeline's own refusal, logged and counted like any other answer
  });
  if (!queued) done(error_response(family_of(shared->first.path), overloaded()));
}

Result<Principal> Api::authenticate(const Request& req, Auth mode, Family fam, const std::string& key_hash) {
  std::string credential(bearer(req));
  if (credential.empty() && (mode == Auth::key_or_session || mode == Auth::dashboard)) {
    // The dashboard's cookie. SameSite=Strict already keeps it off cross-site requests; the Origin
    // check is the second wall for anything that changes state.
    std::string cookie = session_cookie(req);
    if (!cookie.empty()) {
      const bool safe = req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS";
      if (!safe && !same_origin(req, origin_of(public_origin_)))
        return error(Code::forbidden, "Cross-origin request refused: the Origin header does not match this server");
      if (!cookie.starts_with(AccessToken::kPrefix)) return error(Code::unauthorized, "Not signed in");
      return auth_.session(cookie);
    }
  }
  if (mode == Auth::dashboard) return error(Code::unauthorized, "Not signed in");
  if (credential.empty() && fam == Family::vast) credential = req.query_param("api_key").value_or("");
  if (credential.empty()) return error(Code::unauthorized, Authenticator::kInvalid);
  if (credential.starts_with(AccessToken::kPrefix)) {
    if (mode != Auth::key_or_session)
      return error(Code::unauthorized, "Access tokens are not accepted here; use an API key");
    return auth_.session(credential);
  }
  return auth_.api_key_by_hash(key_hash.empty() ? auth_.key_hash(credential) : key_hash);
}

Result<Response> Api::pipeline(Ctx& ctx, Prepared& prepared) {
  Router::Match& m = prepared.match;
  if (m.kind == Router::Match::none) return error(Code::not_found, "No route for " + ctx.req.method + " " + ctx.req.path);
  if (m.kind == Router::Match::wrong_method) {
    Status s = error(Code::method_not_allowed, "Method " + ctx.req.method + " is not allowed here; allowed: " + m.allow);
    return s;
  }
  const RouteSpec* route = prepared.route(*this);
  ctx.params = std::move(m.params);

  if (route->auth != Auth::none) {
    auto p = authenticate(ctx.req, route->auth, ctx.family, prepared.key_hash);
    if (!p.ok()) return p.status();
    ctx.principal = std::move(*p);
    if (!route->category.empty() && ctx.principal.permissions) {  // null permissions: full rights, nothing to check
      json attrs = route->attrs ? route->attrs(ctx.req) : json::object();
      if (!permitted(ctx.principal.permissions, route->category, route->api_name, attrs))
        return error(Code::forbidden, "This API key does not have the '" + route->category + "' permission for " +
                                          route->api_name);
    }
    // Reads are cheap; writes and generations count, per account: every key and session of an
    // account shares one budget, so minting keys does not buy more.
    if (limiter_ && ctx.req.method != "GET" && ctx.req.method != "HEAD")
      VARG_TRY(limiter_->admit(ctx.principal.user_id));
  }
  if (ctx.req.method == "POST" && idempotency_store_ && ctx.principal.user_id && !ctx.req.header("idempotency-key").empty()) {
    if (!route->own_idempotency) return with_idempotency(ctx, *route);
    auto scope = idempotency_scope(ctx, *route);
    if (!scope.ok()) return scope.status();
    ctx.idempotency = std::move(*scope);
  }
  return route->handler(ctx);
}

// Scoped to the calling key and the route: another key (perhaps with fewer rights) replaying the
// same Idempotency-Key runs its own request, through its own checks.
Result<IdempotencyRecord> Api::idempotency_scope(const Ctx& ctx, const RouteSpec& route) const {
  const std::string key(ctx.req.header("idempotency-key"));
  if (key.size() > 255) return error(Code::invalid, "Idempotency-Key is longer than 255 characters", "Idempotency-Key");
  IdempotencyRecord r;
  r.user_id = ctx.principal.user_id;
  r.api_key_id = ctx.principal.key_id;
  r.route = route.method + " " + route.pattern;
  r.key = key;
  r.body_hash = to_hex(sha256(ctx.req.method + " " + ctx.req.path + "\n" + ctx.req.body));
  r.created_at = idempotency_clock_->now();
  return r;
}

Result<Response> Api::with_idempotency(Ctx& ctx, const RouteSpec& route) {
  auto scope = idempotency_scope(ctx, route);
  if (!scope.ok()) return scope.status();
  IdempotencyRecord r = std::move(*scope);
  const int64_t now = r.created_at;
  const int64_t since = now - kIdempotencyTtl, pending_since = now - kIdempotencyPendingTtl;
  bool claimed = false;
  auto got = idempotency_store_->idempotency_claim(r, since, pending_since, &claimed);
  // A concurrent retry waits for the first request's answer rather than doing the work twice.
  for (int i = 0; got.ok() && !claimed && !got->done && got->body_hash == r.body_hash && i < 100; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    got = idempotency_store_->idempotency_claim(r, since, pending_since, &claimed);
  }
  if (!got.ok()) return got.status();
  if (!claimed) {
    if (got->body_hash != r.body_hash)
      return error(Code::conflict, "This Idempotency-Key was already used with a different request");
    if (!got->done) return error(Code::conflict, "A request with this Idempotency-Key is still in progress; retry shortly");
    if (got->withheld)
      return error(Code::conflict, "This Idempotency-Key already created an API key, and its secret is shown only once, "
                                   "so it cannot be shown again: list your keys, revoke it if it was lost, and create "
                                   "another with a new Idempotency-Key");
    Response replay;
    replay.status = 200;
    replay.body = got->response;
    replay.set_header("Idempotent-Replayed", "true");
    return replay;
  }
  Result<Response> res = error(Code::internal, "handler threw");
  try {
    res = route.handler(ctx);
  } catch (...) {
    idempotency_store_->idempotency_abandon(r);
    throw;
  }
  if (res.ok() && res->status < 300 && !res->stream) {
    r.done = true;
    r.status = res->status;
    r.withheld = route.shows_secret;
    r.response = route.shows_secret ? "" : res->body;
    idempotency_store_->idempotency_finish(r);
  } else {
    idempotency_store_->idempotency_abandon(r);  // nothing happened: a retry may try again
  }
  return res;
}

Response Api::run(const Request& req) { return run(req, prepare(req)); }

Response Api::run(const Request& req, Prepared prepared) {
  const auto start = std::chrono::steady_clock::now();
  Ctx ctx{req, {}, {}, {}, family_of(req.path)};
  std::string_view given = req.header("x-request-id");
  ctx.request_id = sane_request_id(given) ? std::string(given) : new_request_id();

  const RouteSpec* route = prepared.route(*this);
  Result<Response> result = error(Code::internal, "no response");
  try {
    result = pipeline(ctx, prepared);
  } catch (const std::exception& e) {
    spdlog::error(json{{"msg", "handler threw"}, {"what", e.what()}, {"request_id", ctx.request_id}}.dump());
    result = error(Code::internal, "internal error");
  }
  Response res;
  if (result.ok()) {
    res = std::move(*result);
  } else {
    res = error_response(ctx.family, result.status());
    if (result.status().code == Code::method_not_allowed) res.set_header("Allow", prepared.match.allow);
    if (result.status().code == Code::internal)
      spdlog::error(json{{"msg", "internal error"}, {"detail", result.status().message}, {"request_id", ctx.request_id}}.dump());
  }
  res.set_header("X-Request-Id", ctx.request_id);

  const int64_t us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  const std::string route_name = route ? route->pattern : "unmatched";
  metrics_.observe(req.method, route_name, res.status, us);
  if (spdlog::should_log(spdlog::level::info)) {
    // Built by hand on the hot path: every part is a token we control (the method passed the HTTP
    // parser, the route is our pattern, the request id is sanitized), so nothing needs escaping.
    std::string line = "{\"msg\":\"request\",\"method\":\"" + req.method + "\",\"route\":\"" + route_name +
                       "\",\"status\":" + std::to_string(res.status) + ",\"duration_us\":" + std::to_string(us) +
                       ",\"request_id\":\"" + ctx.request_id + "\"";
    if (ctx.principal.key_id) line += ",\"key_id\":" + std::to_string(ctx.principal.key_id);
    if (ctx.principal.user_id) line += ",\"user_id\":" + std::to_string(ctx.principal.user_id);
    spdlog::info(line + "}");
  }
  return res;
}

json Api::openapi() const {
  json paths = json::object();
  for (auto& r : routes_) {
    json op = {{"summary", r.summary}, {"tags", json::array({r.pattern.starts_with("/api/v0") ? "vast"
                                                             : r.pattern.starts_with("/api/") ? "app"
                                                                                              : "gateway"})}};
    if (r.auth != Auth::none) op["security"] = json::array({{{"bearer", json::array()}}});
    if (!r.category.empty()) op["x-varg-permission"] = {{"category", r.category}, {"name", r.api_name}};
    json params = json::array();
    for (size_t i = r.pattern.find('{'); i != std::string::npos; i = r.pattern.find('{', i + 1)) {
      size_t j = r.pattern.find('}', i);
      params.push_back({{"name", r.pattern.substr(i + 1, j - i - 1)}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
    }
    if (!params.empty()) op["parameters"] = params;
    op["responses"] = {{"default", {{"description", "JSON; errors in the route family's dialect (SPEC 9)"}}}};
    std::string m = r.method;
    for (auto& ch : m) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    paths[r.pattern][m] = op;
  }
  return {{"openapi", "3.0.3"},
          {"info", {{"title", "varg gateway"}, {"version", "1"}}},
          {"components", {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}},
          {"paths", paths}};
}

}  // namespace varg
