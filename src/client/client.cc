#include <fstream>
#include <sstream>
#include <cstring>
#include "varg/client.h"

#include <cctype>
#include <cstdlib>

#include "client/http.h"
#include "client/server_error.h"

namespace varg::client {
namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// Percent-encodes everything outside RFC 3986's unreserved set, for path segments and query values.
std::string escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string q;
  for (const auto& [name, value] : params) {
    if (value.empty()) continue;
    q += (q.empty() ? "?" : "&") + name + "=" + escape(value);
  }
  return q;
}

// "fal" -> "Fal", "elevenlabs" -> "ElevenLabs": the header spelling of seed 001.
std::string provider_header(const std::string& provider) {
  if (provider == "elevenlabs") return "X-Provider-Key-ElevenLabs";
  std::string name = provider;
  if (!name.empty()) name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
  return "X-Provider-Key-" + name;
}

}  // namespace

Endpoints Endpoints::from_environment() {
  Endpoints e;
  e.gateway_url = trim_slash(env_or("VARG_GATEWAY_URL", e.gateway_url));
  e.app_url = trim_slash(env_or("VARG_APP_URL", e.app_url));
  return e;
}

const char* capability_name(Capability c) {
  switch (c) {
    case Capability::image: return "image";
    case Capability::video: return "video";
    case Capability::speech: return "speech";
    case Capability::music: return "music";
    case Capability::transcription: return "transcription";
  }
  return "image";
}

Client::Client(ClientOptions options) : opts_(std::move(options)) {
  opts_.endpoints.gateway_url = trim_slash(opts_.endpoints.gateway_url);
  opts_.endpoints.app_url = trim_slash(opts_.endpoints.app_url);
}

std::string Client::gateway(const std::string& path) const { return opts_.endpoints.gateway_url + path; }
std::string Client::app(const std::string& path) const { return opts_.endpoints.app_url + path; }
std::string Client::billing_url() const { return app("/dashboard?tab=billing"); }

Result<json> Client::call(const std::string& method, const std::string& url, const json* body,
                          const std::vector<std::string>& headers) {
  if (!body) return exchange(method, url, nullptr, "", headers);
  const std::string text = body->dump();
  return exchange(method, url, &text, "application/json", headers);
}

Result<json> Client::exchange(const std::string& method, const std::string& url, const std::string* body,
                              const std::string& content_type, const std::vector<std::string>& headers) {
  HttpRequest req;
  req.method = method;
  req.url = url;
  req.timeout = opts_.timeout;
  req.connect_timeout = opts_.connect_timeout;
  req.headers = headers;
  req.headers.push_back("Accept: application/json");
  if (!opts_.api_key.empty()) req.headers.push_back("Authorization: Bearer " + opts_.api_key);
  if (body) {
    req.body = *body;
    req.has_body = true;
    req.headers.push_back("Content-Type: " + content_type);
  }
  auto res = send(req);
  if (!res.ok()) return res.error();
  if (res->status < 200 || res->status > 299) return server_error(res->status, res->body, url);
  if (res->body.empty()) return json::object();
  json parsed = json::parse(res->body, nullptr, false);
  if (parsed.is_discarded()) return Error{res->status, "the server's answer is not JSON", url};
  return parsed;
}

Result<Client::McpAnswer> Client::mcp(const std::string& method, const std::string& message,
                                      const std::string& session_id, const std::string& protocol_version) {
  HttpRequest req;
  req.method = method;
  req.url = gateway("/mcp");
  req.timeout = std::max(opts_.timeout, std::chrono::milliseconds(330'000));  // call_tool may wait 300 s
  req.connect_timeout = opts_.connect_timeout;
  req.headers = {"Accept: application/json, text/event-stream", "Authorization: Bearer " + opts_.api_key};
  if (!session_id.empty()) req.headers.push_back("Mcp-Session-Id: " + session_id);
  if (!protocol_version.empty()) req.headers.push_back("MCP-Protocol-Version: " + protocol_version);
  if (method == "POST") {
    req.body = message;
    req.has_body = true;
    req.headers.push_back("Content-Type: application/json");
  }
  req.keep_headers = {"Mcp-Session-Id"};
  auto res = send(req);
  if (!res.ok()) return res.error();
  McpAnswer a{res->status, std::move(res->body), ""};
  for (auto& [k, v] : res->headers)
    if (k == "Mcp-Session-Id") a.session_id = v;
  return a;
}

Result<json> Client::send_login_code(const std::string& email) {
  const json body = {{"email", email}};
  return call("POST", app("/api/auth/cli/send-otp"), &body);
}

Result<json> Client::verify_login_code(const std::string& email, const std::string& code) {
  const json body = {{"email", email}, {"code", code}};
  return call("POST", app("/api/auth/cli/verify-otp"), &body);
}

Result<json> Client::balance() { return call("GET", gateway("/v1/balance"), nullptr); }
Result<json> Client::me() { return call("GET", gateway("/v1/me"), nullptr); }

Result<json> Client::usage(const UsageQuery& q) {
  return call("GET", gateway("/v1/usage" + query({{"from", q.from}, {"to", q.to}, {"model", q.model},
                                                   {"group_by", q.group_by}})),
              nullptr);
}

Result<json> Client::keys() { return call("GET", app("/api/keys"), nullptr); }
Result<json> Client::key(const std::string& id) { return call("GET", app("/api/keys/" + escape(id)), nullptr); }
Result<json> Client::delete_key(const std::string& id) {
  return call("DELETE", app("/api/keys/" + escape(id)), nullptr);
}

Result<json> Client::create_key(const NewKey& key) {
  json body = {{"name", key.name}};
  if (key.permissions) body["permissions"] = *key.permissions;
  if (!key.expires_in.empty()) body["expires_in"] = key.expires_in;
  return call("POST", app("/api/keys"), &body);
}

Result<json> Client::reset_key() {
  const json body = {{"client_id", "me"}};
  return call("PUT", app("/api/v0/commands/reset_apikey/"), &body);
}

Result<json> Client::provider_keys() { return call("GET", app("/api/provider-keys"), nullptr); }
Result<json> Client::set_provider_key(const std::string& provider, const std::string& key) {
  const json body = {{"key", key}};
  return call("PUT", app("/api/provider-keys/" + escape(provider)), &body);
}
Result<json> Client::delete_provider_key(const std::string& provider) {
  return call("DELETE", app("/api/provider-keys/" + escape(provider)), nullptr);
}

Result<json> Client::upload(const std::string& path, std::string media_type) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{0, "cannot read " + path, ""};
  std::ostringstream bytes;
  bytes << in.rdbuf();
  const std::string data = bytes.str();
  if (media_type.empty()) {
    static const std::pair<const char*, const char*> kTypes[] = {
        {".png", "image/png"}, {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".webp", "image/webp"},
        {".gif", "image/gif"}, {".wav", "audio/wav"},  {".mp3", "audio/mpeg"},  {".ogg", "audio/ogg"},
        {".m4a", "audio/mp4"}, {".mp4", "video/mp4"},  {".webm", "video/webm"}, {".mov", "video/quicktime"}};
    media_type = "application/octet-stream";
    for (auto& [ext, type] : kTypes)
      if (path.size() > std::strlen(ext) && path.compare(path.size() - std::strlen(ext), std::string::npos, ext) == 0)
        media_type = type;
  }
  return exchange("POST", gateway("/v1/files"), &data, media_type, {});
}

Result<json> Client::packages() { return call("GET", app("/api/billing/packages"), nullptr); }
Result<json> Client::checkout(const std::string& package_id) {
  const json body = {{"packageId", package_id}};
  return call("POST", app("/api/billing/checkout"), &body);
}

Result<Job> Client::submit(const std::string& path, json request, const GenerateOptions& options) {
  std::vector<std::string> headers;
  if (options.no_cache) headers.push_back("Cache-Control: no-cache");
  for (const auto& [provider, key] : options.provider_keys) headers.push_back(provider_header(provider) + ": " + key);
  if (!options.webhook_url.empty()) request["webhook_url"] = options.webhook_url;
  auto res = call("POST", gateway(path), &request, headers);
  if (!res.ok()) return res.error();
  return job_from_response(*res);
}

Result<Job> Client::generate(Capability capability, const json& request, const GenerateOptions& options) {
  return submit(std::string("/v1/") + capability_name(capability), request, options);
}

Result<Job> Client::media(const std::string& op, const json& request, const GenerateOptions& options) {
  return submit(op == "command" ? "/v1/ffmpeg" : "/v1/ffmpeg/" + escape(op), request, options);
}

Result<json> Client::probe(const std::string& url) {
  const json body = {{"url", url}};
  return call("POST", gateway("/v1/ffmpeg/probe"), &body);
}

Result<json> Client::jobs(const JobQuery& q) {
  return call("GET", gateway("/v1/jobs" + query({{"limit", std::to_string(q.limit)}, {"cursor", q.cursor},
                                                 {"capability", q.capability}, {"status", q.status}})),
              nullptr);
}

Result<Job> Client::retry(const std::string& job_id, const GenerateOptions& options) {
  return submit("/v1/jobs/" + escape(job_id) + "/retry", json::object(), options);
}

Result<json> Client::estimate(const std::string& capability, const json& request) {
  const json body = {{"capability", capability}, {"body", request}};
  return call("POST", gateway("/v1/estimate"), &body);
}

Result<json> Client::models() { return call("GET", gateway("/v1/models"), nullptr); }

Result<Job> Client::job(const std::string& job_id) {
  auto res = call("GET", gateway("/v1/jobs/" + escape(job_id)), nullptr);
  if (!res.ok()) return res.error();
  return job_from_response(*res);
}

Result<Job> Client::render(const json& request) {
  auto res = call("POST", app("/api/render"), &request);
  if (!res.ok()) return res.error();
  return job_from_render(*res);
}

Result<Job> Client::render_job(const std::string& job_id) {
  auto res = call("GET", app("/api/render/jobs/" + escape(job_id)), nullptr);
  if (!res.ok()) return res.error();
  return job_from_render(*res);
}

}  // namespace varg::client
