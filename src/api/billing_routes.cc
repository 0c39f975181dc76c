// Credits and BYOK in the app and gateway dialects (SPEC 4, 6, 7): packages and checkout,
// the payment webhook, usage, and saved provider keys.
#include <spdlog/spdlog.h>

#include <map>

#include "api/services.h"
#include "billing/payments.h"
#include "common/crypto.h"
#include "common/json.h"
#include "http/client.h"

namespace varg {

namespace {
std::string day_of(int64_t t) { return iso8601(t).substr(0, 10); }
}  // namespace

void add_billing_routes(Api& api, Services& s) {
  api.add({"GET", "/api/billing/packages", "Credit packages", Auth::key_or_session, "billing_read",
           "api.billing.packages", nullptr, 0, [](Ctx&) -> Result<Response> {
             json list = json::array();
             for (auto& p : billing::packages())
               list.push_back({{"id", p.id}, {"name", p.name}, {"credits", p.credits}, {"price_cents", p.price_cents},
                               {"popular", std::string(p.id) == "credits-10000"}});
             return json_response(200, {{"packages", list}});
           }});

  api.add({"POST", "/api/billing/checkout", "Start a checkout for a package → {url}", Auth::key_or_session,
           "billing_write", "api.billing.checkout", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto body = parse_object(ctx.req.body);
             if (!body.ok()) return body.status();
             auto id = req_string(*body, "packageId");
             if (!id.ok()) return id.status();
             auto session = s.payments->checkout(ctx.principal.user_id, *id);
             if (!session.ok()) return session.status();
             return json_response(200, {{"url", session->url}, {"id", session->id}});
           }});

  api.add({"POST", "/api/billing/webhook", "Payment provider events (Stripe-Signature verified)", Auth::none, "", "",
           nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto credited = s.payments->on_event(std::string(ctx.req.header("stripe-signature")), ctx.req.body);
             if (!credited.ok()) return credited.status();
             json answer = {{"received", true}};
             if (!credited->empty()) {
               answer["ignored"] = *credited;
               spdlog::warn(json{{"msg", "payment event ignored"}, {"reason", *credited}}.dump());
             }
             return json_response(200, answer);
           }});

  api.add({"GET", "/v1/usage", "Generations and their cost over a date range", Auth::key_or_session, "billing_read",
           "api.billing.usage", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             int64_t now = s.clock.now(), from = now - 30 * 86400, to = now + 1;
             for (auto [name, out, plus] : {std::tuple{"from", &from, int64_t(0)}, std::tuple{"to", &to, int64_t(86400)}}) {
               auto v = ctx.req.query_param(name);
               if (!v) continue;
               if (!parse_date(*v, out)) return error(Code::invalid, std::string("'") + name + "' must be YYYY-MM-DD", name);
               *out += plus;  // `to` is inclusive
             }
             std::string group = ctx.req.query_param("group_by").value_or("");
             if (!group.empty() && group != "day" && group != "model")
               return error(Code::invalid, "'group_by' must be day or model", "group_by");
             VARG_TRY(s.jobs->flush_hits());
             auto jobs = s.store.jobs_of(ctx.principal.user_id, from, to, ctx.req.query_param("model").value_or(""), 10000);
             if (!jobs.ok()) return jobs.status();
             json usage = json::array();
             int64_t total = 0;
             std::map<std::string, json> groups;
             for (auto& j : *jobs) {
               int64_t cost = j.status == JobStatus::completed ? j.cost_cents : 0;
               total += cost;
               usage.push_back({{"job_id", j.id}, {"model", j.model}, {"capability", j.capability}, {"cost_cents", cost},
                                {"cache_hit", j.cache_hit}, {"billing", j.billing_mode}, {"status", job_status_name(j.status)},
                                {"created_at", iso8601(j.created_at)}});
               if (group.empty()) continue;
               std::string key = group == "day" ? day_of(j.created_at) : j.model;
               json& g = groups[key];
               if (g.is_null()) g = {{"key", key}, {"count", 0}, {"cost_cents", 0}, {"cache_hits", 0}, {"byok", 0}, {"metered", 0}};
               g["count"] = g["count"].get<int64_t>() + 1;
               g["cost_cents"] = g["cost_cents"].get<int64_t>() + cost;
               if (j.cache_hit) g["cache_hits"] = g["cache_hits"].get<int64_t>() + 1;
               if (j.billing_mode == "byok") g["byok"] = g["byok"].get<int64_t>() + 1;
               if (j.billing_mode == "metered") g["metered"] = g["metered"].get<int64_t>() + 1;
             }
             json out = {{"usage", usage}, {"total_cents", total}};
             if (!group.empty()) {
               out["groups"] = json::array();
               for (auto& [_, g] : groups) out["groups"].push_back(g);
             }
             return json_response(200, out);
           }});

  api.add({"GET", "/api/provider-keys", "Saved provider keys (masked)", Auth::key_or_session, "user_read",
           "api.provider_keys.read", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto keys = s.provider_keys->list(ctx.principal.user_id);
             if (!keys.ok()) return keys.status();
             json list = json::array();
             for (auto& k : *keys)
               list.push_back({{"provider", k.provider}, {"masked", "\u2026" + k.suffix}, {"created_at", iso8601(k.created_at)}});
             return json_response(200, {{"provider_keys", list}});
           }});

  api.add({"PUT", "/api/provider-keys/{provider}", "Save or replace a provider key (BYOK: 0 credits)",
           Auth::key_or_session, "user_write", "api.provider_keys.write", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto body = parse_object(ctx.req.body);
             if (!body.ok()) return body.status();
             auto key = req_string(*body, "key");
             if (!key.ok()) return key.status();
             VARG_TRY(s.provider_keys->save(ctx.principal.user_id, ctx.param("provider"), *key));
             return json_response(200, {{"success", true}, {"provider", ctx.param("provider")},
                                        {"masked", "\u2026" + key->substr(key->size() - 4)}});
           }});

  api.add({"DELETE", "/api/provider-keys/{provider}", "Delete a saved provider key", Auth::key_or_session,
           "user_write", "api.provider_keys.write", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             VARG_TRY(s.provider_keys->remove(ctx.principal.user_id, ctx.param("provider")));
             return json_response(200, {{"success", true}});
           }});
}

}  // namespace varg
