#include "http/client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <sys/socket.h>

#include <cstring>

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

bool private_address(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    uint32_t a = ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr);
    return (a >> 24) == 10 || (a >> 24) == 127 || (a >> 24) == 0 || (a >> 20) == (172 << 4 | 1) ||
           (a >> 16) == (192 << 8 | 168) || (a >> 16) == (169 << 8 | 254) || (a >> 22) == (100 << 2 | 1) ||
           a >= 0xE0000000u;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* b = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr.s6_addr;
    static const unsigned char loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char any[16] = {};
    if (!std::memcmp(b, loop, 16) || !std::memcmp(b, any, 16)) return true;
    if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff) return true;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!std::memcmp(b, mapped, 12)) {
      sockaddr_in v4{};
      v4.sin_family = AF_INET;
      std::memcpy(&v4.sin_addr, b + 12, 4);
      return private_address(reinterpret_cast<const sockaddr*>(&v4));
    }
  }
  return false;
}

curl_socket_t open_socket(void* userp, curlsocktype, curl_sockaddr* addr) {
  auto* st = static_cast<State*>(userp);
  if (!st->allow_private && private_address(&addr->addr)) {
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

}  // namespace

Result<HttpReply> http_call(const HttpCall& call) {
  if (!call.url.starts_with("http://") && !call.url.starts_with("https://"))
    return error(Code::invalid, "Only http and https URLs are supported");
  CURL* curl = curl_easy_init();
  if (!curl) return error(Code::internal, "cannot create an HTTP client");
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
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 3L);
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
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(curl);
  if (st.refused) return error(Code::forbidden, "URLs on private, loopback or link-local addresses are not allowed");
  if (st.too_big) return error(Code::payload_too_large, "The response is larger than " + std::to_string(call.max_bytes) + " bytes");
  if (rc == CURLE_OPERATION_TIMEDOUT) return error(Code::timeout, "The request timed out");
  if (rc != CURLE_OK) return error(Code::provider_error, std::string("HTTP request failed: ") + curl_easy_strerror(rc));
  return std::move(st.reply);
}

}  // namespace varg
