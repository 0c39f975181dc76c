// A tiny HTTP/1.1 client over plain POSIX sockets, for tests that need to misbehave on purpose
// (stall, disconnect, oversize) as well as speak normally. Every wait has a deadline.
#pragma once
#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace varg::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;  // 0: no response (closed, reset or timed out)
  std::string reason;
  Headers headers;  // names lower-cased
  std::string body;
  std::string error;  // why there is no response

  std::string header(const std::string& lower_name) const;
  bool has_header(const std::string& lower_name) const;
};

// One exchange, printed in failure messages.
struct Exchange {
  std::string request;  // the bytes sent (long bodies abbreviated)
  HttpResponse response;
};
std::ostream& operator<<(std::ostream& o, const Exchange& x);

class Connection {
 public:
  Connection() = default;
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connect(int port);
  // Writes all bytes (MSG_NOSIGNAL); false if the peer closed or reset.
  bool send(const std::string& bytes);
  // Reads one response (skipping 1xx interim responses) within the deadline.
  HttpResponse read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True when the server closes the connection (EOF or reset) within the deadline.
  bool closed_by_peer(std::chrono::milliseconds timeout);
  // Closes with RST instead of FIN (SO_LINGER 0): the most abrupt client departure.
  void reset();
  void close();
  int fd() const { return fd_; }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline, std::string* why);
  int fd_ = -1;
  std::string buf_;
};

// Builds request bytes: adds Host, Content-Length (when a body is given and none set) and the extras.
std::string build_request(const std::string& method, const std::string& target, const Headers& headers,
                          const std::string& body, bool keep_alive = false);

// One request on a fresh connection.
Exchange http(int port, const std::string& method, const std::string& target, const Headers& headers = {},
              const std::string& body = "");

Headers bearer(const std::string& key);

}  // namespace varg::test
