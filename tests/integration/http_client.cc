#include "http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace varg::test {

namespace {
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string abbreviate(const std::string& s, size_t max = 4000) {
  if (s.size() <= max) return s;
  return s.substr(0, max) + "\n[... " + std::to_string(s.size() - max) + " more bytes]";
}
}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  for (auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

bool HttpResponse::has_header(const std::string& name) const {
  for (auto& [k, v] : headers)
    if (k == name) return true;
  return false;
}

std::ostream& operator<<(std::ostream& o, const Exchange& x) {
  o << "\n--- request ---\n" << abbreviate(x.request) << "\n--- response ---\n";
  const HttpResponse& r = x.response;
  if (r.status == 0) return o << "(none: " << r.error << ")\n";
  o << r.status << " " << r.reason << "\n";
  for (auto& [k, v] : r.headers) o << k << ": " << v << "\n";
  return o << "\n" << abbreviate(r.body) << "\n";
}

Connection::~Connection() { close(); }

bool Connection::connect(int port) {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close();
    return false;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return true;
}

bool Connection::send(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, 10000) <= 0) return false;  // the server stopped reading for 10 s
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    off += size_t(n);
  }
  return true;
}

bool Connection::fill(std::chrono::steady_clock::time_point deadline, std::string* why) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
  if (left < 0) left = 0;  // still look once: data or a close may already be waiting
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, int(left));
  if (r == 0) {
    *why = "timed out";
    return false;
  }
  char tmp[65536];
  ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n == 0) {
    *why = "connection closed by server";
    return false;
  }
  if (n < 0) {
    *why = std::string("recv: ") + std::strerror(errno);
    return false;
  }
  buf_.append(tmp, size_t(n));
  return true;
}

HttpResponse Connection::read_response(std::chrono::milliseconds timeout) {
  HttpResponse res;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill(deadline, &res.error)) return res;
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    // "HTTP/1.1 200 OK"
    size_t sp1 = status_line.find(' ');
    if (sp1 == std::string::npos) {
      res.error = "bad status line: " + status_line;
      return res;
    }
    size_t sp2 = status_line.find(' ', sp1 + 1);
    int status = std::atoi(status_line.substr(sp1 + 1, sp2 - sp1 - 1).c_str());
    if (status >= 100 && status < 200) continue;  // 100 Continue and friends
    res.status = status;
    res.reason = sp2 == std::string::npos ? "" : status_line.substr(sp2 + 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        res.headers.emplace_back(lower(line.substr(0, colon)), v);
      }
      pos = e + 2;
    }
    break;
  }
  if (res.has_header("content-length")) {
    size_t len = std::stoull(res.header("content-length"));
    while (buf_.size() < len)
      if (!fill(deadline, &res.error)) {
        res.error = "body truncated: " + res.error;
        res.body = buf_;
        res.status = 0;
        return res;
      }
    res.body = buf_.substr(0, len);
    buf_.erase(0, len);
  } else {
    std::string ignored;
    while (fill(deadline, &ignored)) {
    }
    res.body = std::move(buf_);
    buf_.clear();
  }
  return res;
}

bool Connection::closed_by_peer(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string why;
  while (fill(deadline, &why)) {
  }
  return why != "timed out";
}

void Connection::reset() {
  if (fd_ < 0) return;
  linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close();
}

void Connection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buf_.clear();
}

std::string build_request(const std::string& method, const std::string& target, const Headers& headers,
                          const std::string& body, bool keep_alive) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool has_length = false, has_connection = false;
  for (auto& [k, v] : headers) {
    r += k + ": " + v + "\r\n";
    has_length |= lower(k) == "content-length" || lower(k) == "transfer-encoding";
    has_connection |= lower(k) == "connection";
  }
  if (!has_length && (!body.empty() || method == "POST" || method == "PUT"))
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (!has_connection && !keep_alive) r += "Connection: close\r\n";
  return r + "\r\n" + body;
}

Exchange http(int port, const std::string& method, const std::string& target, const Headers& headers,
              const std::string& body) {
  Exchange x;
  x.request = build_request(method, target, headers, body);
  Connection c;
  if (!c.connect(port)) {
    x.response.error = "cannot connect to port " + std::to_string(port);
    return x;
  }
  if (!c.send(x.request)) {
    x.response.error = "send failed";
    return x;
  }
  x.response = c.read_response();
  return x;
}

Headers bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

}  // namespace varg::test
