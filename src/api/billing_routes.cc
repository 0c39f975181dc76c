// Credits and BYOK in the app and gateway dialects (SPEC 4, 6, 7): packages and checkout,
// the payment webhook, usage, and saved provider keys.
#include <spdlog/spdlog.h>

#include <map>

#include "api/services.h"
#include "billing/checkout_event.h"
#include "billing/stripe_signature.h"
#include "common/crypto.h"
#include "common/json.h"
#include "http/client.h"

namespace varg {

namespace {

struct Package {
  const char* id;
  const char* name;
  int64_t credits;
  int64_t price_cents;
};
const Package kPackages[] = {
    {"credits-2000", "Starter", 2000, 2000},      {"credits-5000", "Basic", 5000, 5000},
    {"credits-10000", "Popular", 10000, 10000},   {"credits-20000", "Pro", 20000, 20000},
    {"credits-50000", "Business", 50000, 50000},  {"credits-100000", "Enterprise", 100000, 100000},
};

const Package* find_package(const std::string& id) {
  for (auto& p : kPackages)
    if (id == p.id) return &p;
  return nullptr;
}

std::string form_escape(const std::string& v) {
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(char(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string day_of(int64_t t) { return iso8601(t).substr(0, 10); }

// A signed event: the purchase it pays credited exactly once per checkout session (however many
// events and deliveries name it). "" when credited or already credited; otherwise why it was
// ignored. A Status only for a store failure (then the provider retries, which is right).
Result<std::string> credit_checkout(Services& s, const std::string& body) {
  const CheckoutEvent ev = read_checkout_event(body);
  if (!ev.paid) return ev.ignored;
  const Package* p = find_package(ev.package_id);
  if (!p) return std::string("the session names no package of ours");
  auto user = s.store.user_by_id(ev.user_id);
  if (!user.ok()) return user.status().code == Code::not_found ? Result<std::string>(std::string("no such account")) : user.status();
  auto e = s.store.append({0, user->id, EntryKind::purchase, p->credits, "stripe:session:" + ev.session_id, ev.session_id,
                           s.clock.now()});
  if (!e.ok()) return e.status();
  return std::string();
}

}  // namespace

void add_billing_routes(Api& api, Services& s) {
  api.add({"GET", "/api/billing/packages", "Credit packages", Auth::key_or_session, "billing_read",
           "api.billing.packages", nullptr, 0, [](Ctx&) -> Result<Response> {
             json list = json::array();
             for (auto& p : kPackages)
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
             const Package* p = find_package(*id);
             if (!p) return error(Code::invalid, "Unknown package '" + *id + "'; GET /api/billing/packages lists them", "packageId");
             if (s.stripe_secret_key.empty())
               return error(Code::unavailable, "Payments are not configured on this gateway; ask the operator to add "
                                               "credits with `vargd admin grant`");
             const std::string back = s.public_url + "/dashboard?tab=billing";
             std::string form = "mode=payment&client_reference_id=" + std::to_string(ctx.principal.user_id) +
                                "&success_url=" + form_escape(back + "&checkout=success") +
                                "&cancel_url=" + form_escape(back + "&checkout=cancelled") +
                                "&line_items[0][quantity]=1&line_items[0][price_data][currency]=usd" +
                                "&line_items[0][price_data][unit_amount]=" + std::to_string(p->price_cents) +
                                "&line_items[0][price_data][product_data][name]=" +
                                form_escape(std::string("varg ") + p->name + " - " + std::to_string(p->credits) + " credits") +
                                "&metadata[user_id]=" + std::to_string(ctx.principal.user_id) +
                                "&metadata[package_id]=" + p->id;
             HttpCall call{"POST", s.stripe_url + "/v1/checkout/sessions",
                           {{"Authorization", "Bearer " + s.stripe_secret_key},
                            {"Content-Type", "application/x-www-form-urlencoded"}},
                           form, 20000, 1 << 20, true};
             auto r = http_call(call);
             if (!r.ok() || r->status != 200) {
               Status st = error(Code::provider_error, "The payment provider did not create a checkout session");
               st.provider = "stripe";
               return st;
             }
             auto session = parse_untrusted(r->body);
             if (!session.ok() || !session->is_object() || !session->contains("url") || !(*session)["url"].is_string())
               return error(Code::provider_error, "The payment provider answered without a checkout URL");
             return json_response(200, {{"url", (*session)["url"]}, {"id", session->value("id", "")}});
           }});

  api.add({"POST", "/api/billing/webhook", "Payment provider events (Stripe-Signature verified)", Auth::none, "", "",
           nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             if (s.stripe_webhook_secret.empty()) return error(Code::unavailable, "Payments are not configured");
             if (!valid_signature(std::string(ctx.req.header("stripe-signature")), ctx.req.body, s.stripe_webhook_secret,
                                  s.clock.now()))
               return error(Code::invalid, "Invalid Stripe-Signature");
             // From here the event is the payment provider's own: anything we cannot use is answered
             // 200 (logged), or the provider would retry it for days.
             auto credited = credit_checkout(s, ctx.req.body);
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
