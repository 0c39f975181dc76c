// OAuth 2.1 for MCP clients that cannot paste a key (SPEC 14, docs/mcp.md): vargd is its own
// authorization server. Metadata (RFC 9728, RFC 8414), dynamic client registration (RFC 7591),
// the authorization code grant with PKCE S256 only — the sign-in is the email code, then a consent
// step — short-lived access tokens and rotating refresh tokens (store.h OAuthToken), revocation
// (RFC 7009). Tokens carry the scope mcp:tools and are accepted at /mcp only.
#include <regex>
#include <set>

#include "api/services.h"
#include "common/crypto.h"

namespace varg {

namespace {

constexpr const char* kScope = "mcp:tools";
constexpr const char* kAccessPrefix = "vmcp_at_";
constexpr const char* kRefreshPrefix = "vmcp_rt_";
constexpr int64_t kCodeSeconds = 60, kAccessSeconds = 3600, kRefreshSeconds = 30 * 86400, kConsentSeconds = 600;

std::string base64url(std::string_view raw) {
  std::string s = to_base64(raw);
  for (auto& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

// application/x-www-form-urlencoded
std::map<std::string, std::string> form(std::string_view body) {
  std::map<std::string, std::string> out;
  while (!body.empty()) {
    const size_t amp = body.find('&');
    const std::string_view part = body.substr(0, amp);
    const size_t eq = part.find('=');
    out[percent_decode(part.substr(0, eq))] = eq == std::string_view::npos ? "" : percent_decode(part.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// An OAuth error answer (RFC 6749 section 5.2).
Response oauth_error(int status, const std::string& code, const std::string& description) {
  Response r = json_response(status, {{"error", code}, {"error_description", description}});
  r.set_header("Cache-Control", "no-store");
  return r;
}

// A redirect URI a client may register: https anywhere, http only to this machine (native apps).
bool acceptable_redirect(const std::string& u) {
  static const std::regex ok(R"(^(https://[^\s#]+|http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/[^\s#]*)?)$)");
  return u.size() <= 2000 && std::regex_match(u, ok);
}

// The authorization request's parameters, checked; carried through the sign-in pages.
struct AuthRequest {
  std::string client_id, client_name, redirect_uri, challenge, state, scope;
};

const char* kFields[] = {"client_id", "redirect_uri", "code_challenge", "state", "scope"};

// The page of each sign-in step: plain forms, no script (the CSP allows none), never framed.
Response page(const std::string& title, const std::string& body_html) {
  Response r;
  r.content_type = "text/html; charset=utf-8";
  r.body = "<!doctype html><html><head><meta charset=utf-8><meta name=viewport content=\"width=device-width\"><title>" +
           html_escape(title) +
           "</title><style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}"
           "input,button{font:inherit;padding:.5rem;margin:.25rem 0;width:100%;box-sizing:border-box}"
           "button.deny{background:none;border:1px solid #999}</style></head><body><h1>" +
           html_escape(title) + "</h1>" + body_html + "</body></html>";
  r.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
  r.set_header("X-Frame-Options", "DENY");
  r.set_header("Cache-Control", "no-store");
  r.set_header("Referrer-Policy", "no-referrer");
  return r;
}

std::string hidden(const AuthRequest& a) {
  const std::string values[] = {a.client_id, a.redirect_uri, a.challenge, a.state, a.scope};
  std::string out;
  for (size_t i = 0; i < 5; i++)
    out += "<input type=hidden name=" + std::string(kFields[i]) + " value=\"" + html_escape(values[i]) + "\">";
  return out;
}

}  // namespace

Result<Principal> oauth_principal(Services& s, std::string_view token) {
  if (!token.starts_with(kAccessPrefix) || token.size() > 128) return error(Code::unauthorized, Authenticator::kInvalid);
  auto t = s.store.oauth_token_by_access(s.hasher.hash(token));
  if (!t.ok()) return t.status().code == Code::not_found ? error(Code::unauthorized, Authenticator::kInvalid) : t.status();
  if (t->revoked_at != 0 || t->access_expires_at <= s.clock.now() || t->scope != kScope)
    return error(Code::unauthorized, "The access token expired or was revoked");
  Principal p;
  p.user_id = t->user_id;
  p.session = true;
  p.expires_at = t->access_expires_at;
  return p;
}

void add_oauth_routes(Api& api, Services& s) {
  const std::string base = s.public_url;

  auto resource = [base](Ctx&) -> Result<Response> {
    return json_response(200, {{"resource", base + "/mcp"}, {"authorization_servers", {base}}, {"scopes_supported", {kScope}},
                               {"bearer_methods_supported", {"header"}}, {"resource_name", "varg MCP"}});
  };
  for (const char* path : {"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"})
    api.add({"GET", path, "OAuth protected resource metadata of /mcp (RFC 9728)", Auth::none, "", "", nullptr, 0, resource});

  api.add({"GET", "/.well-known/oauth-authorization-server", "OAuth authorization server metadata (RFC 8414)", Auth::none, "",
           "", nullptr, 0, [base](Ctx&) -> Result<Response> {
             return json_response(200, {{"issuer", base},
                                        {"authorization_endpoint", base + "/oauth/authorize"},
                                        {"token_endpoint", base + "/oauth/token"},
                                        {"registration_endpoint", base + "/oauth/register"},
                                        {"revocation_endpoint", base + "/oauth/revoke"},
                                        {"response_types_supported", {"code"}},
                                        {"grant_types_supported", {"authorization_code", "refresh_token"}},
                                        {"code_challenge_methods_supported", {"S256"}},
                                        {"token_endpoint_auth_methods_supported", {"none"}},
                                        {"scopes_supported", {kScope}}});
           }});

  api.add({"POST", "/oauth/register", "Register an OAuth client (RFC 7591): {redirect_uris, client_name?}", Auth::none, "", "",
           nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             json body = json::parse(ctx.req.body, nullptr, false);
             if (!body.is_object() || !body.contains("redirect_uris") || !body["redirect_uris"].is_array() ||
                 body["redirect_uris"].empty() || body["redirect_uris"].size() > 10)
               return oauth_error(400, "invalid_redirect_uri", "redirect_uris must be a list of 1 to 10 URIs");
             for (auto& u : body["redirect_uris"])
               if (!u.is_string() || !acceptable_redirect(u.get<std::string>()))
                 return oauth_error(400, "invalid_redirect_uri", "each redirect URI must be https, or http to 127.0.0.1, localhost or [::1], without a fragment");
             std::string name = body.contains("client_name") && body["client_name"].is_string() ? body["client_name"].get<std::string>() : "";
             if (name.empty() || name.size() > 100) name = "MCP client";
             OAuthClient c{"vmcpc_" + random_base62(24), name, body["redirect_uris"].dump(), s.clock.now()};
             VARG_TRY(s.store.insert_oauth_client(c));
             return json_response(201, {{"client_id", c.id}, {"client_name", c.name}, {"redirect_uris", body["redirect_uris"]},
                                        {"grant_types", {"authorization_code", "refresh_token"}}, {"response_types", {"code"}},
                                        {"token_endpoint_auth_method", "none"}, {"client_id_issued_at", c.created_at}});
           }});

  // The authorization request, checked before anything else: an unknown client or redirect URI is
  // an error page (never a redirect to where the request says); the rest goes back to the client.
  auto parse = [&s](const std::map<std::string, std::string>& q, bool require_type) -> Result<AuthRequest> {
    auto get = [&](const char* k) { auto it = q.find(k); return it == q.end() ? std::string() : it->second; };
    AuthRequest a{get("client_id"), "", get("redirect_uri"), get("code_challenge"), get("state"), get("scope")};
    auto c = s.store.oauth_client(a.client_id);
    if (!c.ok()) return error(Code::invalid, "Unknown client: register it first (POST /oauth/register)");
    json uris = json::parse(c->redirect_uris, nullptr, false);
    if (a.redirect_uri.empty() && uris.is_array() && uris.size() == 1) a.redirect_uri = uris[0];
    bool listed = false;
    for (auto& u : uris) listed = listed || (u.is_string() && u.get<std::string>() == a.redirect_uri);
    if (!listed) return error(Code::invalid, "The redirect_uri is not one the client registered");
    a.client_name = c->name;
    if (require_type && get("response_type") != "code") return error(Code::forbidden, "unsupported_response_type");
    if (get("code_challenge_method") != "S256" && require_type) return error(Code::forbidden, "PKCE with code_challenge_method=S256 is required");
    static const std::regex challenge("[A-Za-z0-9_-]{43,128}");
    if (!std::regex_match(a.challenge, challenge)) return error(Code::forbidden, "code_challenge must be the base64url SHA-256 of the verifier");
    if (a.scope.empty()) a.scope = kScope;
    if (a.scope != kScope) return error(Code::forbidden, "invalid_scope: the only scope is mcp:tools");
    if (a.state.size() > 500) return error(Code::forbidden, "state is too long");
    return a;
  };
  // Errors after the redirect URI is known go back to the client (RFC 6749 section 4.1.2.1).
  auto back = [](const AuthRequest& a, const std::string& query) {
    Response r;
    r.status = 302;
    r.set_header("Location", a.redirect_uri + (a.redirect_uri.find('?') == std::string::npos ? "?" : "&") + query +
                                 (a.state.empty() ? "" : "&state=" + percent_encode(a.state)));
    r.set_header("Cache-Control", "no-store");
    return r;
  };
  auto refused = [back](const Status& st, const std::optional<AuthRequest>& a) {
    if (st.code == Code::forbidden && a) return back(*a, "error=invalid_request&error_description=" + percent_encode(st.message));
    Response r = page("Cannot sign in", "<p>" + html_escape(st.message) + "</p>");
    r.status = 400;
    return r;
  };
  auto email_step = [](const AuthRequest& a, const std::string& note) {
    return page("Sign in to varg", "<p><b>" + html_escape(a.client_name) + "</b> wants to use varg tools on your account.</p>" +
                                       (note.empty() ? "" : "<p>" + html_escape(note) + "</p>") +
                                       "<form method=post action=\"/oauth/authorize\">" + hidden(a) +
                                       "<input type=hidden name=step value=send><label>Email<input name=email type=email "
                                       "required autofocus></label><button>Email me a code</button></form>");
  };

  api.add({"GET", "/oauth/authorize", "OAuth authorization (code + PKCE S256): the email-code sign-in, then consent",
           Auth::none, "", "", nullptr, 0, [parse, refused, email_step](Ctx& ctx) -> Result<Response> {
             std::map<std::string, std::string> q = form(ctx.req.query);
             // A known client and redirect URI first: only then may errors go back to it.
             auto plain = parse(q, false);
             if (!plain.ok()) return refused(plain.status(), std::nullopt);
             auto a = parse(q, true);
             if (!a.ok()) return refused(a.status(), *plain);
             return email_step(*a, "");
           }});

  // The consent ticket: what the signed-in account approves, signed, valid for kConsentSeconds.
  auto ticket_of = [&s](int64_t user, const AuthRequest& a, int64_t until) {
    const std::string payload = std::to_string(user) + "|" + std::to_string(until);
    const std::string mac = s.hasher.hash("oauth-consent|" + payload + "|" + a.client_id + "|" + a.redirect_uri + "|" +
                                          a.challenge + "|" + a.state + "|" + a.scope);
    return payload + "|" + mac;
  };

  api.add({"POST", "/oauth/authorize", "OAuth sign-in steps (form posts of the authorization page)", Auth::none, "", "",
           nullptr, 0, [&s, parse, refused, email_step, back, ticket_of](Ctx& ctx) -> Result<Response> {
             std::map<std::string, std::string> f = form(ctx.req.body);
             auto a = parse(f, false);
             if (!a.ok()) return refused(a.status(), std::nullopt);
             const std::string step = f["step"], email = f["email"];
             if (step == "send") {
               if (email.empty() || email.size() > 254 || email.find('@') == std::string::npos) return email_step(*a, "Enter your email address.");
               Status sent = s.login.send_code(email, ctx.req.remote_ip);
               if (!sent.ok()) return email_step(*a, sent.message);
               return page("Check your email", "<p>We sent a 6-digit code to " + html_escape(email) + ".</p>"
                                               "<form method=post action=\"/oauth/authorize\">" + hidden(*a) +
                                               "<input type=hidden name=step value=verify><input type=hidden name=email value=\"" +
                                               html_escape(email) + "\"><label>Code<input name=code inputmode=numeric "
                                               "autocomplete=one-time-code required autofocus></label><button>Continue</button></form>");
             }
             if (step == "verify") {
               auto v = s.login.verify(email, f["code"], false, "");
               if (!v.ok()) return email_step(*a, "That code is wrong or expired: ask for a new one.");
               (void)s.login.end_session(v->access_token);  // the sign-in here is only for this consent
               const std::string ticket = ticket_of(v->user.id, *a, s.clock.now() + kConsentSeconds);
               const std::string form_head = "<form method=post action=\"/oauth/authorize\">" + hidden(*a) +
                                             "<input type=hidden name=ticket value=\"" + html_escape(ticket) + "\">";
               return page("Allow access?",
                           "<p><b>" + html_escape(a->client_name) + "</b> will be able to use varg tools as " + html_escape(v->user.email) +
                               ": generate (billed to this account), check the balance, list and cancel jobs, upload files.</p>"
                               "<p class=muted>Allowing sends you back to " + html_escape(a->redirect_uri.substr(0, a->redirect_uri.find('?'))) +
                               "</p>" +
                               form_head + "<input type=hidden name=step value=allow><button>Allow</button></form>" + form_head +
                               "<input type=hidden name=step value=deny><button class=deny>Deny</button></form>");
             }
             if (step == "allow" || step == "deny") {
               const std::string ticket = f["ticket"];
               const size_t p1 = ticket.find('|'), p2 = p1 == std::string::npos ? p1 : ticket.find('|', p1 + 1);
               if (p2 == std::string::npos) return refused(error(Code::invalid, "The consent form is not one this server made"), std::nullopt);
               const std::string user = ticket.substr(0, p1), until = ticket.substr(p1 + 1, p2 - p1 - 1);
               if (user.empty() || until.empty() || user.find_first_not_of("0123456789") != std::string::npos ||
                   until.find_first_not_of("0123456789") != std::string::npos || user.size() > 18 || until.size() > 18 ||
                   !constant_time_equal(ticket, ticket_of(std::stoll(user), *a, std::stoll(until))))
                 return refused(error(Code::invalid, "The consent form is not one this server made"), std::nullopt);
               if (std::stoll(until) < s.clock.now()) return email_step(*a, "That took too long: sign in again.");
               if (step == "deny") return back(*a, "error=access_denied");
               const std::string code = "vmcp_code_" + random_base62(32);
               VARG_TRY(s.store.insert_oauth_code({s.hasher.hash(code), a->client_id, std::stoll(user), a->redirect_uri, a->challenge,
                                                   a->scope, s.clock.now() + kCodeSeconds}));
               return back(*a, "code=" + code);
             }
             return refused(error(Code::invalid, "Unknown step"), std::nullopt);
           }});


  api.add({"POST", "/oauth/token", "OAuth token endpoint: authorization_code (PKCE) or refresh_token (rotating)", Auth::none,
           "", "", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             std::map<std::string, std::string> f = form(ctx.req.body);
             const int64_t now = s.clock.now();
             // A new pair: its secrets are returned once and stored hashed.
             const std::string access = kAccessPrefix + random_base62(40), refresh = kRefreshPrefix + random_base62(40);
             OAuthToken next{"vmcp_tok_" + random_base62(20), "", f["client_id"], 0, kScope, s.hasher.hash(access),
                             s.hasher.hash(refresh), now + kAccessSeconds, now + kRefreshSeconds, now, 0};
             if (f["grant_type"] == "authorization_code") {
               auto code = s.store.take_oauth_code(s.hasher.hash(f["code"]), now);
               if (!code.ok()) return oauth_error(400, "invalid_grant", "The code is unknown, used or expired");
               if (code->client_id != f["client_id"] || code->redirect_uri != f["redirect_uri"])
                 return oauth_error(400, "invalid_grant", "The code was issued to another client or redirect_uri");
               const std::string verifier = f["code_verifier"];
               if (verifier.size() < 43 || verifier.size() > 128 || !constant_time_equal(base64url(sha256(verifier)), code->challenge))
                 return oauth_error(400, "invalid_grant", "code_verifier does not match the code_challenge (PKCE S256)");
               next.family = "vmcp_fam_" + random_base62(20);
               next.user_id = code->user_id;
               next.scope = code->scope;
               VARG_TRY(s.store.insert_oauth_token(next));
             } else if (f["grant_type"] == "refresh_token") {
               auto rotated = s.store.rotate_oauth_token(s.hasher.hash(f["refresh_token"]), next, now);
               if (!rotated.ok()) return oauth_error(400, "invalid_grant", rotated.status().message);
               if (rotated->client_id != f["client_id"]) {
                 (void)s.store.revoke_oauth_family(rotated->user_id, rotated->family, now);
                 return oauth_error(400, "invalid_grant", "The refresh token belongs to another client");
               }
               next = *rotated;
             } else {
               return oauth_error(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token");
             }
             Response r = json_response(200, {{"access_token", access}, {"token_type", "Bearer"}, {"expires_in", kAccessSeconds},
                                              {"refresh_token", refresh}, {"scope", next.scope}});
             r.set_header("Cache-Control", "no-store");
             return r;
           }});

  // The dashboard's "Connected apps": the account's live grants, and revoking one.
  api.add({"GET", "/api/oauth/grants", "The MCP clients this account authorized (live OAuth grants)", Auth::key_or_session,
           "user_read", "api.keys.read", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto live = s.store.oauth_tokens_of(ctx.principal.user_id, s.clock.now());
             if (!live.ok()) return live.status();
             json out = json::array();
             std::set<std::string> seen;
             for (auto& t : *live) {
               if (!seen.insert(t.family).second) continue;
               auto c = s.store.oauth_client(t.client_id);
               out.push_back({{"id", t.family}, {"client_name", c.ok() ? c->name : t.client_id},
                              {"created_at", iso8601(t.created_at)}, {"expires_at", iso8601(t.refresh_expires_at)}});
             }
             return json_response(200, {{"grants", out}});
           }});
  api.add({"DELETE", "/api/oauth/grants/{id}", "Revoke an MCP client's access at once (every token of the grant)",
           Auth::key_or_session, "user_write", "api.keys.write", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             auto done = s.store.revoke_oauth_family(ctx.principal.user_id, ctx.param("id"), s.clock.now());
             if (!done.ok()) return done.status();
             if (!*done) return error(Code::not_found, "No such connected app");
             Response r;
             r.status = 204;
             return r;
           }});

  api.add({"POST", "/oauth/revoke", "OAuth token revocation (RFC 7009): revokes the grant the token belongs to", Auth::none,
           "", "", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             std::map<std::string, std::string> f = form(ctx.req.body);
             const std::string token = f["token"], hash = s.hasher.hash(token);
             auto t = s.store.oauth_token_by_access(hash);
             if (!t.ok()) t = s.store.oauth_token_by_refresh(hash);
             if (t.ok()) VARG_TRY(s.store.revoke_oauth_family(t->user_id, t->family, s.clock.now()).status());
             return json_response(200, json::object());  // unknown tokens too (RFC 7009 section 2.2)
           }});
}

}  // namespace varg
