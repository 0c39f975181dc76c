// Login by emailed code for the varg CLI and the dashboard (SPEC 3, app dialect).
#include "api/services.h"
#include "common/json.h"

namespace varg {

void add_login_routes(Api& api, Services& s) {
  api.add({"POST", "/api/auth/cli/send-otp", "Email a 6-digit login code", Auth::none, "", "", nullptr, 0,
           [&s](Ctx& ctx) -> Result<Response> {
             auto body = parse_object(ctx.req.body);
             if (!body.ok()) return body.status();
             auto email = req_string(*body, "email");
             if (!email.ok()) return email.status();
             VARG_TRY(s.login.send_code(*email, ctx.req.remote_ip));
             return json_response(200, {{"success", true}});
           }});

  api.add({"POST", "/api/auth/cli/verify-otp", "Exchange a login code for an API key and an access token", Auth::none,
           "", "", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto body = parse_object(ctx.req.body);
             if (!body.ok()) return body.status();
             auto email = req_string(*body, "email");
             if (!email.ok()) return email.status();
             // The code may arrive as a string or, from some clients, as a number.
             std::string code;
             if (auto it = body->find("code"); it != body->end() && it->is_number_unsigned()) {
               code = std::to_string(it->get<uint64_t>());
               code.insert(0, code.size() < 6 ? 6 - code.size() : 0, '0');
             } else {
               auto c = req_string(*body, "code");
               if (!c.ok()) return c.status();
               code = *c;
             }
             auto v = s.login.verify(*email, code, true, "varg CLI login");
             if (!v.ok()) return v.status();
             return json_response(200, {{"api_key", v->key->key},
                                        {"email", v->user.email},
                                        {"balance_cents", v->balance_cents},
                                        {"access_token", v->access_token}});
           }});

  // The dashboard's sign-in: the session goes into an HttpOnly cookie, never into the page's
  // JavaScript; an API key is issued only to a brand-new account (shown once, docs/dashboard.md).
  api.add({"POST", "/api/auth/dashboard/verify", "Exchange a login code for the dashboard's session cookie",
           Auth::none, "", "", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto body = parse_object(ctx.req.body);
             if (!body.ok()) return body.status();
             auto email = req_string(*body, "email");
             if (!email.ok()) return email.status();
             auto code = req_string(*body, "code");
             if (!code.ok()) return code.status();
             auto v = s.login.verify(*email, *code, false, "");
             if (!v.ok()) return v.status();
             json out = {{"email", v->user.email}, {"balance_cents", v->balance_cents}, {"created", v->created}};
             if (v->created) {
               auto k = issue_key(s.store, s.hasher, KeyRequest{v->user.id, "dashboard sign-up", std::nullopt, std::nullopt},
                                  s.clock.now());
               if (!k.ok()) return k.status();
               out["api_key"] = k->key;
             }
             Response r = json_response(200, out);
             r.set_header("Set-Cookie", dashboard_cookie(s, v->access_token, 86400));
             r.set_header("Cache-Control", "no-store");
             return r;
           }});

  api.add({"POST", "/api/auth/logout", "End the session of the calling access token (or the dashboard's cookie)",
           Auth::key_or_session, "", "", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             if (!ctx.principal.session) return error(Code::invalid, "Only a session can log out; revoke API keys instead");
             std::string_view h = ctx.req.header("authorization");
             std::string token = h.empty() ? "" : std::string(h.substr(h.find(' ') + 1));
             const bool by_cookie = token.find_first_not_of(' ') == std::string::npos;
             if (by_cookie) token = session_cookie(ctx.req);
             VARG_TRY(s.login.end_session(token));
             Response r = json_response(200, {{"success", true}});
             if (by_cookie) r.set_header("Set-Cookie", dashboard_cookie(s, "", 0));
             return r;
           }});
}

std::string dashboard_cookie(const Services& s, const std::string& token, int64_t max_age) {
  return std::string(kSessionCookie) + "=" + token + "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" +
         std::to_string(max_age) + (s.public_url.starts_with("https://") ? "; Secure" : "");
}

}  // namespace varg
