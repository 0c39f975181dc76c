// Account routes: balance, profile and the caller's own API keys (SPEC 4).
#include "api/services.h"
#include "auth/keys.h"
#include "common/clock.h"
#include "common/json.h"

namespace varg {

json key_json(const ApiKeyRecord& k) {
  auto ts = [](const std::optional<int64_t>& t) { return t ? json(iso8601(*t)) : json(nullptr); };
  json perms = k.permissions ? json::parse(*k.permissions, nullptr, false) : json(nullptr);
  return {{"id", k.id},
          {"name", k.name},
          {"prefix", k.prefix + "\u2026"},
          {"created_at", iso8601(k.created_at)},
          {"last_used_at", ts(k.last_used_at)},
          {"expires_at", ts(k.expires_at)},
          {"permissions", perms}};
}

Result<IssuedKey> create_key(Services& s, const Ctx& ctx, bool name_required) {
  auto body = parse_object(ctx.req.body);
  if (!body.ok()) return body.status();
  auto req = parse_key_request(*body, ctx.principal.user_id, s.clock.now(), name_required);
  if (!req.ok()) return req.status();
  VARG_TRY(check_no_escalation(ctx.principal, *req));
  return issue_key(s.store, s.hasher, *req, s.clock.now());
}

Result<IssuedKey> reset_calling_key(Services& s, const Principal& p) {
  auto old = s.store.key_of(p.user_id, p.key_id);
  if (!old.ok()) return old.status();
  auto fresh = rotate_key(s.store, s.hasher, *old, s.clock.now());
  if (fresh.ok()) s.auth.forget(old->id);
  return fresh;
}

Result<int64_t> id_param(const Ctx& ctx, const char* what) {
  const std::string& raw = ctx.param("id");
  if (raw.empty() || raw.size() > 18 || raw.find_first_not_of("0123456789") != std::string::npos)
    return error(Code::not_found, std::string("No such ") + what);
  return std::stoll(raw);
}

void add_account_routes(Api& api, Services& s) {
  api.add({"GET", "/v1/balance", "Spendable and reserved credits", Auth::key_or_session, "billing_read",
           "api.billing.balance", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto b = s.store.balance(ctx.principal.user_id);
             if (!b.ok()) return b.status();
             Response r;  // the hottest route: two integers, formatted without building a json value
             r.body = "{\"balance_cents\":" + std::to_string(b->available()) + ",\"currency\":\"usd\",\"reserved_cents\":" +
                      std::to_string(b->reserved) + "}";
             return r;
           },
           true});

  api.add({"GET", "/v1/me", "The caller's account", Auth::key_or_session, "user_read", "api.user.read", nullptr, 0,
           [&s](Ctx& ctx) -> Result<Response> {
             auto u = s.store.user_by_id(ctx.principal.user_id);
             if (!u.ok()) return u.status();
             auto b = s.store.balance(u->id);
             if (!b.ok()) return b.status();
             return json_response(200, {{"userId", std::to_string(u->id)}, {"id", std::to_string(u->id)}, {"email", u->email},
                                        {"balance_cents", b->available()}, {"created_at", iso8601(u->created_at)}});
           }});

  api.add({"GET", "/api/keys", "List the caller's API keys", Auth::key_or_session, "user_read", "api.keys.read", nullptr, 0,
           [&s](Ctx& ctx) -> Result<Response> {
             auto keys = s.store.keys_of(ctx.principal.user_id);
             if (!keys.ok()) return keys.status();
             json list = json::array();
             for (auto& k : *keys) list.push_back(key_json(k));
             return json_response(200, {{"keys", list}});
           }});

  api.add({"POST", "/api/keys", "Create an API key (returned once)", Auth::key_or_session, "user_write",
           "api.keys.write", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto issued = create_key(s, ctx, true);
             if (!issued.ok()) return issued.status();
             json out = key_json(issued->record);
             out["key"] = issued->key;
             return json_response(201, out);
           }}).shows_secret = true;

  api.add({"POST", "/api/keys/reset", "Revoke the calling key and return its replacement (shown once)",
           Auth::api_key, "user_write", "api.keys.write", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto fresh = reset_calling_key(s, ctx.principal);
             if (!fresh.ok()) return fresh.status();
             json out = key_json(fresh->record);
             out["key"] = fresh->key;
             return json_response(200, out);
           }}).shows_secret = true;

  api.add({"GET", "/api/keys/{id}", "One of the caller's API keys", Auth::key_or_session, "user_read", "api.keys.read",
           nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto id = id_param(ctx, "API key");
             if (!id.ok()) return id.status();
             auto k = s.store.key_of(ctx.principal.user_id, *id);
             if (!k.ok()) return k.status();
             return json_response(200, key_json(*k));
           }});

  api.add({"DELETE", "/api/keys/{id}", "Revoke one of the caller's API keys", Auth::key_or_session, "user_write",
           "api.keys.write", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto id = id_param(ctx, "API key");
             if (!id.ok()) return id.status();
             VARG_TRY(s.store.revoke_key(*id, ctx.principal.user_id, s.clock.now()));
             s.auth.forget(*id);
             return json_response(200, {{"success", true}, {"id", *id}});
           }});
}

}  // namespace varg
