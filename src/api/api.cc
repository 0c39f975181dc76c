#include "api/api.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "api/pipeline/access_log.h"
#include "api/pipeline/permission.h"
#include "api/pipeline/request_id.h"

namespace varg {

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
  if (s.code == Code::rate_limited || s.retry_after > 0)
    r.set_header("Retry-After", std::to_string(std::max(1, s.retry_after)));
  return r;
}

Api::Api(Options opts, Authenticator& auth, Metrics& metrics)
    : opts_(opts), metrics_(metrics), authn_(auth), pool_(std::make_unique<WorkerPool>(opts.workers, opts.max_queue)) {}

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
  Prepared p = prepare(req);
  start(std::move(req), std::move(p), std::move(done));
}

Status Api::permitted(const Principal& who, const Request& req) const {
  const Router::Match m = router_.match(req.method, req.path);
  if (m.kind != Router::Match::found) return Status::Ok();
  return check_permission(who, routes_[m.index], req);
}

void Api::handle_as(Request req, Principal who, std::function<void(Response)> done) {
  Prepared p = prepare(req);
  p.as = std::move(who);
  start(std::move(req), std::move(p), std::move(done));
}

// Runs the pipeline coroutine for a request it owns; `done` gets the answer on whichever thread
// finishes it. A deferred response (Prefer: wait) completes later, from whichever thread finishes the job.
void Api::start(Request req, Prepared p, std::function<void(Response)> done) {
  auto owned = std::make_shared<Request>(std::move(req));
  auto respond = [done = std::move(done), owned](Response r) {
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
  detach(serve(*owned, std::move(p), false), std::move(respond));
}

Response Api::run(const Request& req) { return run(req, prepare(req)); }

Response Api::run(const Request& req, Prepared p) {
  std::optional<Response> out;
  detach(serve(req, std::move(p), true), [&out](Response r) { out = std::move(r); });
  return std::move(*out);  // on_worker: nothing hopped, so it finished before detach returned
}

Api::Prepared Api::prepare(const Request& req) const {
  return Prepared{router_.match(req.method, req.path), authn_.key_hash(req)};
}

void Api::precheck(Request head, std::function<void(std::optional<Response>)> done) {
  Prepared p = prepare(head);
  const RouteSpec* route = route_of(p);
  if (!route) return done(run(head, std::move(p)));  // 404 or 405 whatever the body says
  if (authn_.in_memory(route->auth, p.key_hash)) return done(std::nullopt);
  // A credential lookup may touch the store: on a worker, never on the network thread.
  auto shared = std::make_shared<std::pair<Request, Prepared>>(std::move(head), std::move(p));
  bool queued = pool_->submit([this, shared, done, route] {
    auto& [req, prepared] = *shared;
    auto who = authn_.now(req, route->auth, prepared.key_hash);
    if (who.ok()) return done(std::nullopt);
    // Answered with this refusal (never by running the handler on a request without its body,
    // should the credential pass a second look), logged and counted like any other answer.
    prepared.refused = who.status();
    done(run(req, std::move(prepared)));
  });
  if (!queued) done(error_response(family_of(shared->first.path), overloaded()));
}

Task<Result<Response>> Api::call_handler(const RouteSpec& route, Ctx& ctx, Flow& flow) {
  if (route.async_handler) co_return co_await route.async_handler(ctx, flow);
  if (!(route.inline_read && flow.may_read())) {
    const bool moved = co_await flow.to_worker();
    if (!moved) co_return overloaded();
  }
  co_return route.handler(ctx);
}

Task<Result<Response>> Api::steps(Ctx& ctx, Prepared& p, Flow& flow) {
  Router::Match& m = p.match;
  if (m.kind == Router::Match::none) co_return error(Code::not_found, "No route for " + ctx.req.method + " " + ctx.req.path);
  if (m.kind == Router::Match::wrong_method)
    co_return error(Code::method_not_allowed, "Method " + ctx.req.method + " is not allowed here; allowed: " + m.allow);
  const RouteSpec& route = routes_[m.index];
  ctx.params = std::move(m.params);

  if (route.auth != Auth::none) {
    if (!p.refused.ok()) co_return p.refused;
    if (p.as) {
      ctx.principal = std::move(*p.as);
    } else {
      auto who = co_await authn_.run(ctx.req, route.auth, p.key_hash, flow);
      if (!who.ok()) co_return who.status();
      ctx.principal = std::move(*who);
    }
    if (Status allowed = check_permission(ctx.principal, route, ctx.req); !allowed.ok()) co_return allowed;
    if (limiter_) {
      Status admitted = co_await limiter_->run(ctx.req, ctx.principal.user_id, flow);
      if (!admitted.ok()) co_return admitted;
    }
  }
  if (ctx.req.method == "POST" && idempotency_ && ctx.principal.user_id && !ctx.req.header("idempotency-key").empty()) {
    if (!route.own_idempotency) {
      const std::function<Task<Result<Response>>()> next = [&] { return call_handler(route, ctx, flow); };
      co_return co_await idempotency_->run(ctx, route, flow, next);
    }
    auto scope = idempotency_->scope(ctx, route);
    if (!scope.ok()) co_return scope.status();
    ctx.idempotency = std::move(*scope);
  }
  co_return co_await call_handler(route, ctx, flow);
}

Task<Response> Api::serve(const Request& req, Prepared p, bool on_worker) {
  const auto start = std::chrono::steady_clock::now();
  Flow flow(*pool_, on_worker, opts_.inline_reads);
  Ctx ctx{req, {}, {}, request_id_of(req), family_of(req.path)};
  const RouteSpec* route = route_of(p);
  const std::string allow = p.match.allow;
  Result<Response> result = error(Code::internal, "no response");
  try {
    result = co_await steps(ctx, p, flow);
  } catch (const std::exception& e) {
    spdlog::error(json{{"msg", "handler threw"}, {"what", e.what()}, {"request_id", ctx.request_id}}.dump());
    result = error(Code::internal, "internal error");
  }
  Response res;
  if (result.ok()) {
    res = std::move(*result);
  } else {
    res = error_response(ctx.family, result.status());
    if (result.status().code == Code::method_not_allowed) res.set_header("Allow", allow);
    if (result.status().code == Code::internal)
      spdlog::error(json{{"msg", "internal error"}, {"detail", result.status().message}, {"request_id", ctx.request_id}}.dump());
  }
  res.set_header("X-Request-Id", ctx.request_id);
  const int64_t us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  access_log(metrics_, req, route ? route->pattern : "unmatched", res.status, us, ctx);
  co_return res;
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
