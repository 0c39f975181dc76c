// The Vast-compatible key API (/api/v0, SPEC 5), so that the real `vastai` CLI works via VAST_URL.
#include "api/services.h"
#include "auth/keys.h"
#include "common/json.h"

namespace varg {

namespace {

json vast_key_json(const ApiKeyRecord& k) {
  json j = key_json(k);
  j["key"] = nullptr;  // never shown after creation
  j["rights"] = j["permissions"];
  return j;
}

}  // namespace

void add_vast_routes(Api& api, Services& s) {
  api.add({"GET", "/api/v0/gpu_names/unique", "GPU names (none here; the vastai CLI asks at start)", Auth::none, "",
           "", nullptr, 0, [](Ctx&) -> Result<Response> { return json_response(200, {{"gpu_names", json::array()}}); }});

  api.add({"GET", "/api/v0/users/current", "The caller's account in Vast's shape", Auth::key_or_session, "user_read",
           "api.user.read", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto u = s.store.user_by_id(ctx.principal.user_id);
             if (!u.ok()) return u.status();
             auto b = s.store.balance(u->id);
             if (!b.ok()) return b.status();
             const std::string username = u->email.substr(0, u->email.find('@'));
             return json_response(200, {{"id", u->id},
                                        {"email", u->email},
                                        {"username", username},
                                        {"fullname", nullptr},
                                        {"credit", double(b->available()) / 100.0},
                                        {"balance_cents", b->available()},
                                        {"reserved_cents", b->reserved},
                                        {"email_verified", true},
                                        {"has_billing", true},
                                        {"ssh_key", nullptr},
                                        {"created_at", iso8601(u->created_at)}});
           }});

  api.add({"POST", "/api/v0/auth/apikeys", "Create an API key (returned once)", Auth::key_or_session, "user_write",
           "api.keys.write", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto issued = create_key(s, ctx, false);
             if (!issued.ok()) return issued.status();
             json out = vast_key_json(issued->record);
             out["key"] = issued->key;
             out["success"] = true;
             return json_response(200, out);
           }}).shows_secret = true;

  api.add({"GET", "/api/v0/auth/apikeys", "List the caller's API keys", Auth::key_or_session, "user_read",
           "api.keys.read", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto keys = s.store.keys_of(ctx.principal.user_id);
             if (!keys.ok()) return keys.status();
             json list = json::array();
             for (auto& k : *keys) list.push_back(vast_key_json(k));
             return json_response(200, {{"apikeys", list}});
           }});

  api.add({"GET", "/api/v0/auth/apikeys/{id}", "One of the caller's API keys", Auth::key_or_session, "user_read",
           "api.keys.read", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto id = id_param(ctx, "API key");
             if (!id.ok()) return id.status();
             auto k = s.store.key_of(ctx.principal.user_id, *id);
             if (!k.ok()) return k.status();
             return json_response(200, vast_key_json(*k));
           }});

  api.add({"DELETE", "/api/v0/auth/apikeys/{id}", "Revoke one of the caller's API keys", Auth::key_or_session,
           "user_write", "api.keys.write", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto id = id_param(ctx, "API key");
             if (!id.ok()) return id.status();
             VARG_TRY(s.store.revoke_key(*id, ctx.principal.user_id, s.clock.now()));
             s.auth.forget(*id);
             return json_response(200, {{"success", true}});
           }});

  api.add({"PUT", "/api/v0/commands/reset_apikey", "Revoke the calling key and return its replacement",
           Auth::api_key, "user_write", "api.keys.write", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto body = parse_object(ctx.req.body);
             if (!body.ok()) return body.status();
             auto client = opt_string(*body, "client_id");
             if (!client.ok()) return client.status();
             if (*client && **client != "me") return error(Code::forbidden, "Only your own key can be reset (client_id \"me\")");
             auto fresh = reset_calling_key(s, ctx.principal);
             if (!fresh.ok()) return fresh.status();
             return json_response(200, {{"success", true}, {"new_api_key", fresh->key}, {"id", fresh->record.id}});
           }});
}

}  // namespace varg
