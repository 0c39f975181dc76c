#include "api/pipeline/authentication.h"

namespace varg {

Family family_of(std::string_view path) {
  if (path.starts_with("/api/v0")) return Family::vast;
  if (path.starts_with("/api/")) return Family::app;
  return Family::gateway;
}

std::string_view bearer(const Request& req) {
  std::string_view h = req.header("authorization");
  if (h.size() < 7 || !(h.substr(0, 7) == "Bearer " || h.substr(0, 7) == "bearer ")) return {};
  h.remove_prefix(7);
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  return h;
}

std::string session_cookie(const Request& req) {
  std::string_view h = req.header("cookie");
  const std::string name = std::string(kSessionCookie) + "=";
  size_t i = 0;
  while (i < h.size()) {
    while (i < h.size() && (h[i] == ' ' || h[i] == ';')) i++;
    size_t end = h.find(';', i);
    if (end == std::string_view::npos) end = h.size();
    std::string_view part = h.substr(i, end - i);
    if (part.starts_with(name)) return std::string(part.substr(name.size()));
    i = end;
  }
  return {};
}

// scheme://host[:port] of a URL.
std::string Authentication::origin_of(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  auto slash = url.find('/', scheme + 3);
  return std::string(url.substr(0, slash));
}

bool Authentication::same_origin(const Request& req) const {
  std::string_view origin = req.header("origin");
  if (origin.empty()) return false;
  if (!public_origin_.empty() && origin == public_origin_) return true;
  std::string_view host = req.header("host");
  return !host.empty() && (origin == "http://" + std::string(host) || origin == "https://" + std::string(host));
}

std::string Authentication::key_hash(const Request& req) const {
  std::string_view key = bearer(req);  // Vast's ?api_key= is rare: now() hashes it
  return key.starts_with(AccessToken::kPrefix) ? std::string() : auth_.key_hash(key);
}

bool Authentication::in_memory(Auth mode, const std::string& key_hash) {
  return mode == Auth::none || auth_.cached(key_hash);
}

Task<Result<Principal>> Authentication::run(const Request& req, Auth mode, const std::string& key_hash, Flow& flow) {
  if (!in_memory(mode, key_hash)) {  // a lookup (and perhaps a last-used write): store work
    const bool moved = co_await flow.to_worker();
    if (!moved) co_return overloaded();
  }
  co_return now(req, mode, key_hash);
}

Result<Principal> Authentication::now(const Request& req, Auth mode, const std::string& key_hash) {
  std::string credential(bearer(req));
  if (credential.empty() && (mode == Auth::key_or_session || mode == Auth::dashboard)) {
    // The dashboard's cookie. SameSite=Strict already keeps it off cross-site requests; the Origin
    // check is the second wall for anything that changes state.
    std::string cookie = session_cookie(req);
    if (!cookie.empty()) {
      const bool safe = req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS";
      if (!safe && !same_origin(req))
        return error(Code::forbidden, "Cross-origin request refused: the Origin header does not match this server");
      if (!cookie.starts_with(AccessToken::kPrefix)) return error(Code::unauthorized, "Not signed in");
      return auth_.session(cookie);
    }
  }
  if (mode == Auth::dashboard) return error(Code::unauthorized, "Not signed in");
  if (credential.empty() && family_of(req.path) == Family::vast) credential = req.query_param("api_key").value_or("");
  if (credential.empty()) return error(Code::unauthorized, Authenticator::kInvalid);
  if (credential.starts_with(AccessToken::kPrefix)) {
    if (mode != Auth::key_or_session)
      return error(Code::unauthorized, "Access tokens are not accepted here; use an API key");
    return auth_.session(credential);
  }
  return auth_.api_key_by_hash(key_hash.empty() ? auth_.key_hash(credential) : key_hash);
}

}  // namespace varg
