// The web dashboard (SPEC 3; docs/dashboard.md): its page and assets, embedded from web/ at build
// time, and the routes only it uses. Those take the HttpOnly session cookie, never a key.
#include "api/dashboard_assets.h"
#include "api/services.h"
#include "common/clock.h"

namespace varg {

namespace {

Response asset(std::string_view body, const char* content_type) {
  Response r;
  r.content_type = content_type;
  r.body = std::string(body);
  // No inline script or style anywhere; results and previews come from our own /files (or blob:).
  r.set_header("Content-Security-Policy",
               "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
               "media-src 'self' blob: data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
               "form-action 'self'; frame-ancestors 'none'");
  r.set_header("X-Frame-Options", "DENY");
  r.set_header("Referrer-Policy", "no-referrer");
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("Cache-Control", "no-cache");
  return r;
}

}  // namespace

void add_dashboard_routes(Api& api, Services& s) {
  api.add({"GET", "/dashboard", "The web dashboard (tabs: ?tab=keys|provider-keys|billing|usage|playground)",
           Auth::none, "", "", nullptr, 0,
           [](Ctx&) -> Result<Response> { return asset(kDashboardHtml, "text/html; charset=utf-8"); }});
  api.add({"GET", "/dashboard/app.js", "The dashboard's script", Auth::none, "", "", nullptr, 0,
           [](Ctx&) -> Result<Response> { return asset(kDashboardJs, "text/javascript; charset=utf-8"); }});
  api.add({"GET", "/dashboard/app.css", "The dashboard's style sheet", Auth::none, "", "", nullptr, 0,
           [](Ctx&) -> Result<Response> { return asset(kDashboardCss, "text/css; charset=utf-8"); }});

  // The playground generates through the same submit path as /v1 (validation, cache, billing),
  // authenticated by the dashboard's cookie: access tokens stay refused on /v1 generation routes.
  api.add({"POST", "/api/dashboard/generate/{capability}", "Generate from the dashboard's playground (JobResponse)",
           Auth::dashboard, "generate", "api.generate.playground", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             const std::string& cap = ctx.param("capability");
             for (auto& c : generation_capabilities())
               if (c == cap) return submit_generation(s, ctx, cap);
             return error(Code::not_found, "No such capability '" + cap + "'");
           }}).own_idempotency = true;
  api.add({"GET", "/api/dashboard/jobs/{id}", "A playground job's state (JobResponse)", Auth::dashboard, "generate",
           "api.generate.jobs", nullptr, 0, [&s](Ctx& ctx) { return job_state(s, ctx); }});
  api.add({"GET", "/api/dashboard/jobs/{id}/stream", "Server-sent events of a playground job", Auth::dashboard,
           "generate", "api.generate.jobs", nullptr, 0, [&s](Ctx& ctx) { return job_events(s, ctx); }});

  api.add({"GET", "/api/billing/ledger", "The caller's recent ledger entries, newest first", Auth::key_or_session,
           "billing_read", "api.billing.ledger", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             int limit = 100;
             if (auto l = ctx.req.query_param("limit"); l && !l->empty() && l->size() < 5 &&
                                                         l->find_first_not_of("0123456789") == std::string::npos)
               limit = std::clamp(std::stoi(*l), 1, 1000);
             auto entries = s.store.entries(ctx.principal.user_id, limit);
             if (!entries.ok()) return entries.status();
             json list = json::array();
             for (auto& e : *entries)
               list.push_back({{"id", e.id}, {"kind", entry_kind_name(e.kind)}, {"amount", e.amount}, {"ref", e.ref},
                               {"created_at", iso8601(e.created_at)}});
             return json_response(200, {{"entries", list}});
           }});
}

}  // namespace varg
