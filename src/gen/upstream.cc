#include "gen/upstream.h"

#include <cctype>
#include <chrono>
#include <thread>

#include "common/crypto.h"
#include "common/json.h"

namespace varg {

Status Upstream::failure(const std::string& what) const {
  Status s = error(Code::provider_error, provider + ": " + what);
  s.provider = provider;
  return s;
}

Status Upstream::outage(const std::string& what) const {
  Status s = failure(what);
  s.retry_after = 30;
  return s;
}

bool Upstream::pause(long ms, const std::atomic<bool>& cancelled) {
  for (long waited = 0; waited < ms; waited += 20) {
    if (cancelled) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(20L, ms - waited)));
  }
  return !cancelled;
}

Result<HttpReply> Upstream::call(HttpCall c, const std::atomic<bool>& cancelled) const {
  c.allow_private = allow_private;
  c.timeout_ms = timeout_ms;
  std::string last;
  for (int attempt = 1; attempt <= attempts; attempt++) {
    if (cancelled) return error(Code::unavailable, "cancelled");
    auto r = http_call(c);
    long wait = backoff_ms << (attempt - 1);
    if (r.ok()) {
      if (r->status >= 200 && r->status < 300) return r;
      if (r->status != 429 && r->status < 500) {
        // The upstream's own message helps the user (bad input, bad key) and carries no secret of ours.
        std::string detail = r->body.substr(0, 300);
        for (auto& ch : detail)
          if (ch == '\n' || ch == '\r') ch = ' ';
        if (r->status == 401 || r->status == 403) return failure("the provider rejected the API key (HTTP " + std::to_string(r->status) + ")");
        return failure("HTTP " + std::to_string(r->status) + " " + detail);
      }
      last = "HTTP " + std::to_string(r->status);
      std::string ra = r->header("retry-after");
      if (!ra.empty() && ra.find_first_not_of("0123456789") == std::string::npos && ra.size() < 5)
        wait = std::max(wait, std::stol(ra) * 1000);
    } else {
      if (r.status().code == Code::forbidden) return failure(r.status().message);
      last = r.status().message;
      if (r.status().code == Code::timeout) last = "timed out after " + std::to_string(timeout_ms) + " ms";
    }
    if (attempt < attempts && !pause(std::min(wait, 30000L), cancelled)) return error(Code::unavailable, "cancelled");
  }
  return outage(last + " after " + std::to_string(attempts) + " attempts");
}

Result<nlohmann::json> Upstream::call_json(HttpCall c, const std::atomic<bool>& cancelled) const {
  auto r = call(std::move(c), cancelled);
  if (!r.ok()) return r.status();
  auto j = parse_untrusted(r->body, {64, 2000000});  // a provider's answer is as untrusted as a caller's body
  if (!j.ok() || !j->is_object()) return outage("the provider answered with something that is not JSON");
  return j;
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(char(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

Multipart::Multipart() : boundary("varg-" + random_base62(24)) {}

void Multipart::field(const std::string& name, const std::string& value) {
  body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
}

}  // namespace varg
