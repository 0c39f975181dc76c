// Pipeline step 2, authentication: the route's Auth mode decides which credentials count — an API
// key (Bearer, or Vast's ?api_key=), an access token, the dashboard's session cookie (with the
// Origin check for anything that changes state). A key verified within the last Authenticator::
// kCacheMs is answered from memory where the request is; anything else moves to a worker first.
#pragma once
#include <string>
#include <string_view>

#include "api/pipeline/flow.h"
#include "auth/authenticator.h"
#include "common/task.h"
#include "http/message.h"

namespace varg {

enum class Family { gateway, app, vast };  // SPEC 9: one error dialect per client family
Family family_of(std::string_view path);

enum class Auth {
  none,            // public
  api_key,         // API key only (generation routes refuse session tokens)
  key_or_session,  // API key or access token (app routes); also the dashboard's session cookie
  dashboard,       // the dashboard's session cookie only (its playground: docs/dashboard.md)
};

// The dashboard keeps its access token in this HttpOnly cookie (docs/dashboard.md).
inline constexpr const char* kSessionCookie = "varg_session";
// The value of the session cookie, or "" when the request has none.
std::string session_cookie(const Request& req);
// The Bearer token of the Authorization header, trimmed; "" when there is none.
std::string_view bearer(const Request& req);

class Authentication {
 public:
  explicit Authentication(Authenticator& auth) : auth_(auth) {}
  // The server's own URL: a change authenticated by the session cookie must come from its origin
  // (or from the request's Host).
  void set_public_url(std::string_view url) { public_origin_ = origin_of(url); }

  // The peppered hash of the request's Bearer API key ("" when it has none): computed once per request.
  std::string key_hash(const Request& req) const;
  // True when the credential is answered from memory (a verified key in the cache).
  bool in_memory(Auth mode, const std::string& key_hash);
  // The principal, or 401/403. Store work runs on a worker (flow.to_worker()).
  Task<Result<Principal>> run(const Request& req, Auth mode, const std::string& key_hash, Flow& flow);
  // The same, on this thread.
  Result<Principal> now(const Request& req, Auth mode, const std::string& key_hash);

 private:
  static std::string origin_of(std::string_view url);
  bool same_origin(const Request& req) const;

  Authenticator& auth_;
  std::string public_origin_;
};

}  // namespace varg
