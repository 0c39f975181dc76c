#include "api/render_routes.h"
#include "api/status_events.h"

#include <chrono>
#include <mutex>

#include "common/json.h"

namespace varg {

namespace {

using steady = std::chrono::steady_clock;
using render::RenderService;

void rate_headers(Response& r, const render::RateInfo& rate) {
  r.set_header("X-RateLimit-Limit", std::to_string(rate.limit));
  r.set_header("X-RateLimit-Remaining", std::to_string(rate.remaining));
  r.set_header("X-RateLimit-Reset", std::to_string(rate.reset));
}

// Errors become responses here so that they carry the rate headers too.
Result<Response> answer(RenderService& rs, const Ctx& ctx, Result<Response> r) {
  Response out = r.ok() ? std::move(*r) : error_response(Family::app, r.status());
  rate_headers(out, rs.rate(ctx.principal.user_id));
  return out;
}

// POST /api/render's body with the caller's account and rights.
Result<render::RenderRequest> caller_request(const Ctx& ctx) {
  auto req = render::RenderRequest::parse(ctx.req.body);
  if (!req.ok()) return req;
  req->user_id = ctx.principal.user_id;
  req->permissions = ctx.principal.permissions;
  return req;
}

}  // namespace

void add_render_routes(Api& api, RenderService& rs, Services&) {
  api.add({"POST", "/api/render", "Render a varg TSX composition (202 with the render job)", Auth::api_key, "render",
           "api.render.create", nullptr, 512 * 1024, [&rs](Ctx& ctx) -> Result<Response> {
             auto req = caller_request(ctx);
             if (!req.ok()) return answer(rs, ctx, req.status());
             auto a = rs.submit(*req);
             if (!a.ok()) return answer(rs, ctx, a.status());
             return answer(rs, ctx, json_response(202, {{"job_id", a->job.id}, {"status", "rendering"},
                                                        {"estimated_duration_ms", a->estimated_ms},
                                                        {"queue", {{"active", a->active}, {"waiting", a->waiting}}}}));
           }});
  api.add({"POST", "/api/render/estimate", "What a render would cost now: {code, mode?, providerKeys?} -> {credits, generations}",
           Auth::api_key, "render", "api.render.create", nullptr, 512 * 1024, [&rs](Ctx& ctx) -> Result<Response> {
             auto req = caller_request(ctx);
             if (!req.ok()) return answer(rs, ctx, req.status());
             auto e = rs.estimate(*req);
             if (!e.ok()) return answer(rs, ctx, e.status());
             return answer(rs, ctx, json_response(200, {{"credits", e->credits}, {"generations", e->generations}}));
           }});
  api.add({"GET", "/api/render/jobs/{id}", "A render job's state", Auth::api_key, "render", "api.render.read", nullptr, 0,
           [&rs](Ctx& ctx) -> Result<Response> {
             auto j = rs.get(ctx.principal.user_id, ctx.param("id"));
             if (!j.ok()) return answer(rs, ctx, j.status());
             return answer(rs, ctx, json_response(200, rs.to_json(*j)));
           }});
  api.add({"GET", "/api/render/jobs/{id}/stream", "Server-sent events of a render job", Auth::api_key, "render",
           "api.render.read", nullptr, 0, [&rs](Ctx& ctx) -> Result<Response> {
             auto j = rs.get(ctx.principal.user_id, ctx.param("id"));
             if (!j.ok()) return answer(rs, ctx, j.status());
             Response r;
             r.content_type = "text/event-stream";
             const int64_t user = ctx.principal.user_id;
             const std::string id = j->id;
             // `event: timeout` after 15 minutes.
             r.stream = std::make_shared<StatusEvents>(
                 StatusEvents::Source{[&rs, id] { return rs.version(id); },
                                      [&rs, id](uint64_t seen, auto deadline, auto cb) { rs.watch(id, seen, deadline, std::move(cb)); },
                                      [&rs, user, id]() -> Result<std::pair<json, bool>> {
                                        auto now = rs.get(user, id);
                                        if (!now.ok()) return now.status();
                                        return std::pair{rs.to_json(*now), now->status != "rendering"};
                                      }},
                 std::chrono::minutes(15), true);
             rate_headers(r, rs.rate(ctx.principal.user_id));
             return r;
           }});
  api.add({"DELETE", "/api/render/jobs/{id}", "Cancel a render job", Auth::api_key, "render", "api.render.cancel", nullptr, 0,
           [&rs](Ctx& ctx) -> Result<Response> {
             auto j = rs.cancel(ctx.principal.user_id, ctx.param("id"));
             if (!j.ok()) return answer(rs, ctx, j.status());
             return answer(rs, ctx, json_response(200, rs.to_json(*j)));
           }});
  api.add({"GET", "/api/jobs", "The caller's render jobs, newest first (?limit=)", Auth::api_key, "render", "api.render.read",
           nullptr, 0, [&rs](Ctx& ctx) -> Result<Response> {
             int limit = 20;
             if (auto l = ctx.req.query_param("limit")) {
               try {
                 limit = std::stoi(*l);
               } catch (...) {
                 return answer(rs, ctx, error(Code::invalid, "limit must be a number", "limit"));
               }
             }
             auto list = rs.list(ctx.principal.user_id, limit);
             if (!list.ok()) return answer(rs, ctx, list.status());
             json jobs = json::array();
             for (auto& j : *list) jobs.push_back(rs.to_json(j));
             return answer(rs, ctx, json_response(200, {{"jobs", jobs}}));
           }});
}

}  // namespace varg
