// HTTP request and response as plain values, so that route handlers never see Beast types.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace varg {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as received, with query
  std::string path;    // normalized: no doubled slashes, no trailing slash
  std::string query;   // without '?'
  Headers headers;     // names in lower case
  std::string body;
  std::string remote_ip;

  std::string_view header(std::string_view lower_name) const;
  std::optional<std::string> query_param(std::string_view name) const;  // percent-decoded
};

// A body produced piece by piece (server-sent events): the server asks for the next piece and
// writes it as soon as `deliver` is called; std::nullopt ends the stream.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  virtual void next(std::function<void(std::optional<std::string>)> deliver) = 0;
  virtual void cancel() {}  // the client went away
};

// A body sent straight from an open file with sendfile(2): `length` bytes from `offset`. Owns fd.
struct FileBody {
  int fd = -1;
  int64_t offset = 0, length = 0;
  FileBody(int f, int64_t off, int64_t len) : fd(f), offset(off), length(len) {}
  FileBody(const FileBody&) = delete;
  FileBody& operator=(const FileBody&) = delete;
  ~FileBody();
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  Headers headers;
  std::string body;
  std::shared_ptr<BodyStream> stream;  // when set, `body` is ignored and the connection closes after
  std::shared_ptr<const FileBody> file;  // when set, `body` is ignored
  // When set, the real response comes later (e.g. Prefer: wait): it is called with the function
  // that delivers it, and this response is discarded.
  std::function<void(std::function<void(Response)>)> deferred;

  void set_header(std::string name, std::string value);
};

// The status line and header fields of r, ready for the wire, ending with the empty line. CR, LF
// and NUL in a name or value become spaces, so no field can be split in two (response splitting).
// `length`: the Content-Length to announce; nullopt for none (1xx, 204, 304, or a body that ends
// with the connection).
std::string response_head(const Response& r, unsigned version, bool keep_alive, std::optional<uint64_t> length);
// A status without a body: 1xx, 204, 304.
inline bool bodiless(int status) { return status < 200 || status == 204 || status == 304; }

std::string normalize_path(std::string_view path);
std::string percent_decode(std::string_view s);
std::string percent_encode(std::string_view s);  // all but unreserved characters (RFC 3986 section 2.3)

// What the server hands requests to. handle() may complete on any thread.
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual void handle(Request req, std::function<void(Response)> done) = 0;
  // The largest body accepted for this method and path.
  virtual size_t body_limit(std::string_view method, std::string_view path) const = 0;
  // A response for a request the server refused before it reached handle() (too large, malformed).
  virtual Response refuse(std::string_view path, int status, const std::string& message) = 0;
  // Called with the request line and headers (no body) of a request that has one, before any of
  // the body is read: `done(refusal)` when the body cannot change the answer (no such route, no
  // or a bad credential), `done(nullopt)` to go on. `done` may run on any thread.
  virtual void precheck(Request head, std::function<void(std::optional<Response>)> done) = 0;
};

}  // namespace varg
