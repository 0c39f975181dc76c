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

  api.add({"POST", "/api/auth/logout", "End the session of the calling access token", Auth::key_or_session, "", "",
           nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             if (!ctx.principal.session) return error(Code::invalid, "Only a session can log out; revoke API keys instead");
             std::string_view h = ctx.req.header("authorization");
             VARG_TRY(s.login.end_session(std::string(h.substr(h.find(' ') + 1))));
             return json_response(200, {{"success", true}});
           }});
}

}  // namespace varg
