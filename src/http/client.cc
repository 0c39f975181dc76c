#include "http/client.h"

#include <curl/curl.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>

#include "http/address.h"

namespace varg {

std::string HttpReply::header(const std::string& name) const {
  for (auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

namespace {

struct State {
  HttpReply reply;
  size_t max_bytes = 0;
  bool too_big = false;
  bool allow_private = false;
  bool refused = false;
};

curl_socket_t open_socket(void* userp, curlsocktype, curl_sockaddr* addr) {
  auto* st = static_cast<State*>(userp);
  if (!st->allow_private && !public_address(&addr->addr)) {
    st->refused = true;
    return CURL_SOCKET_BAD;
  }
  return ::socket(addr->family, addr->socktype, addr->protocol);
}

size_t on_body(char* p, size_t size, size_t n, void* userp) {
  auto* st = static_cast<State*>(userp);
  size_t len = size * n;
  if (st->reply.body.size() + len > st->max_bytes) {
    st->too_big = true;
    return 0;
  }
  st->reply.body.append(p, len);
  return len;
}

size_t on_header(char* p, size_t size, size_t n, void* userp) {
  auto* st = static_cast<State*>(userp);
  std::string line(p, size * n);
  if (line.starts_with("HTTP/")) st->reply.headers.clear();  // a redirect's or 100's headers
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string k = line.substr(0, colon), v = line.substr(colon + 1);
    for (auto& c : k) c = char(std::tolower(static_cast<unsigned char>(c)));
    size_t a = v.find_first_not_of(" \t"), b = v.find_last_not_of(" \t\r\n");
    st->reply.headers.emplace_back(k, a == std::string::npos ? "" : v.substr(a, b - a + 1));
  }
  return size * n;
}

// The parts of an absolute URL (as libcurl reads it, lower case; "" where there is none).
struct UrlParts {
  std::string scheme, host, port;
};
UrlParts parts_of(const std::string& url) {
  UrlParts out;
  CURLU* u = curl_url();
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    auto get = [&](CURLUPart part, unsigned flags, std::string& to) {
      char* v = nullptr;
      if (curl_url_get(u, part, &v, flags) == CURLUE_OK && v) to = v;
      curl_free(v);
      for (auto& c : to) c = char(std::tolower(static_cast<unsigned char>(c)));
    };
    get(CURLUPART_SCHEME, 0, out.scheme);
    get(CURLUPART_HOST, 0, out.host);
    get(CURLUPART_PORT, CURLU_DEFAULT_PORT, out.port);
  }
  curl_url_cleanup(u);
  return out;
}

// scheme://host:port of an absolute http(s) URL: redirects within it keep every header.
std::string origin_of(const std::string& url) {
  auto p = parts_of(url);
  return p.scheme.empty() || p.host.empty() || p.port.empty() ? "" : p.scheme + "://" + p.host + ":" + p.port;
}

// Headers that carry no credential: the only ones that follow a redirect to another origin.
bool credential_free(const std::string& name) {
  std::string n = name;
  for (auto& c : n) c = char(std::tolower(static_cast<unsigned char>(c)));
  return n == "content-type" || n == "accept" || n == "prefer" || n == "user-agent";
}

std::string g_ca_file;  // set once at start (set_http_ca_file), before any call

// A connection pool: a libcurl share handle holding connections (keep-alive), DNS answers and TLS
// sessions for every thread. Two of them: connections opened for calls that may reach private
// addresses (the operator's provider URLs, fakes in tests) are never reused by a call that may
// not — the SSRF check runs when a connection opens, so a reused one must have passed the same rule.
class Pool {
 public:
  Pool() : share_(curl_share_init()) {
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    for (auto data : {CURL_LOCK_DATA_CONNECT, CURL_LOCK_DATA_DNS, CURL_LOCK_DATA_SSL_SESSION})
      curl_share_setopt(share_, CURLSHOPT_SHARE, data);
  }
  CURLSH* share() const { return share_; }

 private:
  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
    static_cast<Pool*>(self)->mu_[size_t(data) % kLocks].lock();
  }
  static void unlock(CURL*, curl_lock_data data, void* self) { static_cast<Pool*>(self)->mu_[size_t(data) % kLocks].unlock(); }
  static constexpr size_t kLocks = CURL_LOCK_DATA_LAST;
  CURLSH* share_;
  std::array<std::mutex, kLocks> mu_;
};

Pool& pool(bool allow_private) {
  static Pool strict, permissive;  // live as long as the process (connections close at exit)
  return allow_private ? permissive : strict;
}

// Each thread keeps one easy handle per pool, reset between calls: its CA store is loaded once
// and cached (CURLOPT_CA_CACHE_TIMEOUT), its connections live in the pool.
struct Handles {
  CURL* easy[2] = {nullptr, nullptr};
  ~Handles() {
    for (CURL* c : easy)
      if (c) curl_easy_cleanup(c);
  }
};

CURL* handle_for(bool allow_private) {
  thread_local Handles h;
  CURL*& c = h.easy[allow_private ? 1 : 0];
  if (c) curl_easy_reset(c);
  else c = curl_easy_init();
  return c;
}

// One request, no redirects followed; `location` is the absolute target of a 3xx.
Result<HttpReply> perform(const HttpCall& call, std::string& location) {
  CURL* curl = handle_for(call.allow_private);
  if (!curl) return error(Code::internal, "cannot create an HTTP client");
  curl_easy_setopt(curl, CURLOPT_SHARE, pool(call.allow_private).share());
  if (!g_ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, g_ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_CA_CACHE_TIMEOUT, 3600L);
  State st;
  st.max_bytes = call.max_bytes;
  st.allow_private = call.allow_private;
  curl_slist* hdrs = nullptr;
  for (auto& [k, v] : call.headers) hdrs = curl_slist_append(hdrs, (k + ": " + v).c_str());
  hdrs = curl_slist_append(hdrs, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  if (call.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!call.body.empty() || call.method == "POST" || call.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, call.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(call.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, call.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(call.timeout_ms, 10000L));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &st);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &st);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &st);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &st.reply.status);
  char* redirect = nullptr;
  curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &redirect);
  location = redirect ? redirect : "";
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(hdrs);
  if (st.refused) return error(Code::forbidden, "URLs on private, loopback or link-local addresses are not allowed");
  if (st.too_big) return error(Code::payload_too_large, "The response is larger than " + std::to_string(call.max_bytes) + " bytes");
  if (rc == CURLE_OPERATION_TIMEDOUT) return error(Code::timeout, "The request timed out");
  if (rc != CURLE_OK) return error(Code::provider_error, std::string("HTTP request failed: ") + curl_easy_strerror(rc));
  return std::move(st.reply);
}

}  // namespace

void set_http_ca_file(const std::string& path) { g_ca_file = path; }

bool names_private_host(const std::string& url) {
  std::string host = parts_of(url).host;
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  addrinfo hints{}, *res = nullptr;
  hints.ai_flags = AI_NUMERICHOST;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return false;  // a name: checked when it connects
  const bool priv = !public_address(res->ai_addr);
  freeaddrinfo(res);
  return priv;
}

Result<HttpReply> http_call(const HttpCall& first) {
  if (!first.url.starts_with("http://") && !first.url.starts_with("https://"))
    return error(Code::invalid, "Only http and https URLs are supported");
  HttpCall call = first;
  const std::string origin = origin_of(first.url);
  for (int hop = 0;; hop++) {
    std::string location;
    auto r = perform(call, location);
    if (!r.ok()) return r;
    const long s = r->status;
    if (s != 301 && s != 302 && s != 303 && s != 307 && s != 308) return r;
    if (location.empty()) return r;
    if (hop == 3) return error(Code::provider_error, "HTTP request failed: too many redirects");
    if (!location.starts_with("http://") && !location.starts_with("https://"))
      return error(Code::provider_error, "HTTP request failed: a redirect to a non-http(s) URL");
    // Credentials (Authorization, xi-api-key, ...) never follow a redirect to another origin.
    if (origin_of(location) != origin)
      std::erase_if(call.headers, [](const auto& h) { return !credential_free(h.first); });
    if (s == 303 || ((s == 301 || s == 302) && call.method == "POST")) {
      call.method = call.method == "HEAD" ? "HEAD" : "GET";
      call.body.clear();
    }
    call.url = location;
  }
}

}  // namespace varg
