#include "api/render_routes.h"

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

Result<render::RenderRequest> parse_request(const Ctx& ctx) {
  json body = json::parse(ctx.req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error(Code::invalid, "Invalid JSON: the body must be a JSON object", "body");
  render::RenderRequest r;
  r.user_id = ctx.principal.user_id;
  if (!body.contains("code") || !body["code"].is_string() || body["code"].get<std::string>().empty())
    return error(Code::invalid, "Field 'code' is required: a varg TSX composition (export default <Render>…</Render>)", "code");
  r.code = body["code"];
  if (r.code.size() > 256 * 1024) return error(Code::invalid, "Field 'code' is longer than 256 KiB", "code");
  r.mode = body.value("mode", json("strict")).is_string() ? body.value("mode", std::string("strict")) : "";
  if (r.mode != "strict" && r.mode != "preview") return error(Code::invalid, "Field 'mode' must be \"strict\" or \"preview\"", "mode");
  r.output = body.value("output", json("video")).is_string() ? body.value("output", std::string("video")) : "";
  if (r.output != "video" && r.output != "frames") return error(Code::invalid, "Field 'output' must be \"video\" or \"frames\"", "output");
  r.verbose = body.value("verbose", json(false)).is_boolean() && body.value("verbose", false);
  if (body.contains("providerKeys") && !body["providerKeys"].is_null()) {
    const json& pk = body["providerKeys"];
    if (!pk.is_object()) return error(Code::invalid, "Field 'providerKeys' must be an object of provider → key", "providerKeys");
    for (auto& [k, v] : pk.items()) {
      bool known = false;
      for (auto& p : byok_providers()) known = known || p == k;
      if (!known) return error(Code::invalid, "Unknown provider in 'providerKeys': " + k, "providerKeys");
      if (!v.is_string()) return error(Code::invalid, "providerKeys." + k + " must be a string", "providerKeys");
      if (!v.get<std::string>().empty()) r.provider_keys[k] = v;
    }
  }
  return r;
}

// GET /api/render/jobs/{id}/stream: `event: status` on every change, keepalive comments every 15
// s, `event: timeout` after 15 minutes.
class RenderEvents final : public BodyStream, public std::enable_shared_from_this<RenderEvents> {
 public:
  RenderEvents(RenderService& rs, int64_t user, std::string id) : rs_(rs), user_(user), id_(std::move(id)) {}

  void next(std::function<void(std::optional<std::string>)> deliver) override {
    std::unique_lock lk(mu_);
    if (done_ || cancelled_) return deliver(std::nullopt);
    if (steady::now() >= end_) {
      done_ = true;
      return deliver("event: timeout\ndata: " + json{{"job_id", id_}}.dump() + "\n\n");
    }
    if (!started_) {
      started_ = true;
      lk.unlock();
      return deliver(event());
    }
    auto self = shared_from_this();
    uint64_t seen = seen_;
    lk.unlock();
    rs_.watch(id_, seen, std::min(end_, steady::now() + std::chrono::seconds(15)), [self, deliver](bool changed) {
      if (changed) return deliver(self->event());
      if (steady::now() >= self->end_) {
        std::lock_guard lk(self->mu_);
        self->done_ = true;
        return deliver("event: timeout\ndata: " + json{{"job_id", self->id_}}.dump() + "\n\n");
      }
      deliver(std::optional<std::string>(": keepalive\n\n"));
    });
  }
  void cancel() override {
    std::lock_guard lk(mu_);
    cancelled_ = true;
  }

 private:
  std::string event() {
    uint64_t v = rs_.version(id_);
    auto j = rs_.get(user_, id_);
    std::lock_guard lk(mu_);
    seen_ = v;
    if (!j.ok()) {
      done_ = true;
      return "event: error\ndata: " + json{{"error", j.status().message}}.dump() + "\n\n";
    }
    if (j->status != "rendering") done_ = true;
    return "event: status\ndata: " + rs_.to_json(*j).dump() + "\n\n";
  }

  RenderService& rs_;
  int64_t user_;
  std::string id_;
  std::mutex mu_;
  bool started_ = false, done_ = false, cancelled_ = false;
  uint64_t seen_ = 0;
  steady::time_point end_ = steady::now() + std::chrono::minutes(15);
};

}  // namespace

void add_render_routes(Api& api, RenderService& rs, Services&) {
  api.add({"POST", "/api/render", "Render a varg TSX composition (202 with the render job)", Auth::api_key, "render",
           "api.render.create", nullptr, 512 * 1024, [&rs](Ctx& ctx) -> Result<Response> {
             auto req = parse_request(ctx);
             if (!req.ok()) return answer(rs, ctx, req.status());
             auto a = rs.submit(*req);
             if (!a.ok()) return answer(rs, ctx, a.status());
             return answer(rs, ctx, json_response(202, {{"job_id", a->job.id}, {"status", "rendering"},
                                                        {"estimated_duration_ms", a->estimated_ms},
                                                        {"queue", {{"active", a->active}, {"waiting", a->waiting}}}}));
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
             r.stream = std::make_shared<RenderEvents>(rs, ctx.principal.user_id, j->id);
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
