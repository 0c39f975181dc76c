#include "http/server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <list>
#include <thread>
#include <unordered_map>
#include <vector>

namespace varg {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
using steady = std::chrono::steady_clock;

namespace {

// What the clients hold of the server: open connections and body bytes being received, in all
// and per address. Reservations are made before a connection is served or a body is read.
class FrontDoor {
 public:
  explicit FrontDoor(const Server::Options& o) : o_(o) {}

  enum class Admit { ok, server_full, ip_full };
  Admit connect(const std::string& ip) {
    std::lock_guard lk(mu_);
    if (connections_ >= o_.max_connections) return Admit::server_full;
    auto& mine = per_ip_[ip];
    if (mine.connections >= o_.max_connections_per_ip) return Admit::ip_full;
    connections_++, mine.connections++;
    return Admit::ok;
  }
  void disconnect(const std::string& ip) {
    std::lock_guard lk(mu_);
    connections_--;
    if (auto it = per_ip_.find(ip); it != per_ip_.end() && --it->second.connections == 0 && it->second.body_bytes == 0)
      per_ip_.erase(it);
  }
  bool reserve(const std::string& ip, size_t n) {
    std::lock_guard lk(mu_);
    auto& mine = per_ip_[ip];  // the caller holds a connection: the entry exists
    if (body_bytes_ + n > o_.max_body_bytes || mine.body_bytes + n > o_.max_body_bytes_per_ip) return false;
    body_bytes_ += n, mine.body_bytes += n;
    return true;
  }
  void release(const std::string& ip, size_t n) {
    std::lock_guard lk(mu_);
    body_bytes_ -= n;
    if (auto it = per_ip_.find(ip); it != per_ip_.end()) it->second.body_bytes -= n;
  }

 private:
  struct Held {
    size_t connections = 0, body_bytes = 0;
  };
  const Server::Options& o_;
  std::mutex mu_;
  size_t connections_ = 0, body_bytes_ = 0;
  std::unordered_map<std::string, Held> per_ip_;
};

// A transfer that must keep moving: each step within `step`, and on average `min_rate` bytes/s
// once it has lasted longer than `step` (a slow but honest upload is fine; a trickle is not).
struct Progress {
  steady::time_point start = steady::now();
  size_t bytes = 0;
  bool too_slow(std::chrono::milliseconds step, size_t min_rate) const {
    const double s = std::chrono::duration<double>(steady::now() - start).count();
    return s * 1000 > double(step.count()) && double(bytes) < s * double(min_rate);
  }
};

}  // namespace

struct Server::Impl {
  Options opts;
  HttpHandler& handler;
  // One io_context per network thread (the nginx model): a connection lives on one thread for its
  // whole life, so no strands are needed. ioc[0] also runs the acceptor and signals.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  asio::io_context& ioc;
  size_t next_context = 0;
  tcp::acceptor acceptor{ioc};
  asio::signal_set signals{ioc};
  bool catching_signals = false;
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
  // The connections of each network thread, touched only on that thread (no lock, no allocation
  // on the request path): shutdown closes, from each thread, those waiting for their next request.
  struct Open {
    beast::tcp_stream* stream;
    bool idle;
  };
  std::vector<std::list<Open>> open_conns;
  static thread_local size_t t_context;  // the index of the context this thread runs
  FrontDoor door{opts};

  static std::vector<std::unique_ptr<asio::io_context>> make_contexts(int threads) {
    int n = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::unique_ptr<asio::io_context>> v;
    for (int i = 0; i < n; i++) v.push_back(std::make_unique<asio::io_context>(1));
    return v;
  }
  Impl(Options o, HttpHandler& h)
      : opts(std::move(o)), handler(h), contexts(make_contexts(opts.threads)), ioc(*contexts[0]),
        open_conns(contexts.size()) {}

  awaitable<void> accept_loop();
  awaitable<void> session(tcp::socket sock);
  awaitable<void> admitted(tcp::socket sock, const std::string& remote);
  awaitable<void> serve(beast::tcp_stream& stream, const std::string& remote);
  awaitable<void> turn_away(tcp::socket sock, int status, std::string message);
  awaitable<Response> dispatch(Request req);
  awaitable<std::optional<Response>> precheck(Request head);
  // A body read with progress deadlines: failed covers a stall, a disconnect and a malformed body.
  enum class BodyRead { complete, too_slow, over_limit, failed };
  awaitable<BodyRead> read_body(beast::tcp_stream& stream, beast::flat_buffer& buf,
                                http::request_parser<http::string_body>& parser);
  awaitable<bool> write(beast::tcp_stream& stream, Response& r, bool keep_alive, unsigned version, bool head);
  awaitable<void> write_stream(beast::tcp_stream& stream, Response& r);
  awaitable<bool> write_file(beast::tcp_stream& stream, Response& r, bool keep_alive, unsigned version, bool head);
  void begin_stop();
  // After refusing a request whose body we will not read: stop sending and discard what the client
  // still sends for a moment, so that closing does not reset the connection before it reads our answer.
  static awaitable<void> drain(beast::tcp_stream& stream) {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 65536> sink;
    size_t total = 0;
    stream.expires_after(std::chrono::seconds(2));
    while (total < (64u << 20)) {
      auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), tuple_awaitable);
      if (rec) break;
      total += n;
    }
  }
};

Server::Server(Options opts, HttpHandler& handler) : impl_(std::make_unique<Impl>(std::move(opts), handler)) {}
Server::~Server() = default;

uint16_t Server::listen() {
  auto& a = impl_->acceptor;
  tcp::endpoint ep(asio::ip::make_address(impl_->opts.host), impl_->opts.port);
  a.open(ep.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  a.bind(ep);
  a.listen(asio::socket_base::max_listen_connections);
  return a.local_endpoint().port();
}

void Server::stop() {
  asio::post(impl_->ioc, [this] { impl_->begin_stop(); });
}

void Server::Impl::begin_stop() {
  if (stopping.exchange(true)) return;
  beast::error_code ec;
  acceptor.close(ec);
  signals.cancel();
  for (size_t i = 0; i < contexts.size(); i++)  // each on its own thread: streams are not thread-safe
    asio::post(*contexts[i], [this, i] {
      for (auto& c : open_conns[i]) {
        beast::error_code ignored;
        if (c.idle) c.stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      }
    });
}

thread_local size_t Server::Impl::t_context = 0;

void Server::catch_signals() {
  auto& im = *impl_;
  if (im.catching_signals) return;
  im.catching_signals = true;
  im.signals.add(SIGTERM);
  im.signals.add(SIGINT);
  im.signals.async_wait([&im](const beast::error_code& ec, int) {
    if (!ec) im.begin_stop();
  });
}

void Server::run(bool handle_signals) {
  auto& im = *impl_;
  if (handle_signals) catch_signals();
  asio::co_spawn(im.ioc, im.accept_loop(), asio::detached);
  // A watchdog: once stopping, give in-flight requests the grace period, then stop the loop.
  std::thread watchdog([&im] {
    while (!im.stopping) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto deadline = std::chrono::steady_clock::now() + im.opts.shutdown_grace;
    while (im.in_flight > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (auto& c : im.contexts) c->stop();
  });
  std::vector<std::thread> pool;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& c : im.contexts) guards.push_back(asio::make_work_guard(*c));
  for (size_t i = 1; i < im.contexts.size(); i++)
    pool.emplace_back([&im, i] {
      Impl::t_context = i;
      im.contexts[i]->run();
    });
  Impl::t_context = 0;
  im.ioc.run();
  for (auto& t : pool) t.join();
  im.stopping = true;
  watchdog.join();
}

awaitable<void> Server::Impl::accept_loop() {
  for (;;) {
    auto& target = *contexts[next_context++ % contexts.size()];
    auto [ec, sock] = co_await acceptor.async_accept(target, tuple_awaitable);
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) co_return;
      // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS): the pending connection stays in
      // the backlog and accept would fail again at once. Back off instead of spinning, and keep
      // serving the connections we have.
      asio::steady_timer pause(ioc, std::chrono::milliseconds(100));
      co_await pause.async_wait(tuple_awaitable);
      continue;
    }
    auto ex = sock.get_executor();
    asio::co_spawn(ex, session(std::move(sock)), asio::detached);
  }
}

awaitable<Response> Server::Impl::dispatch(Request req) {
  // The handler completes on its own thread; hop back to this connection's executor.
  auto ex = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(use_awaitable), void(Response)>(
      [this, &req, ex](auto h) mutable {
        auto shared = std::make_shared<decltype(h)>(std::move(h));
        handler.handle(std::move(req), [shared, ex](Response r) {
          asio::post(ex, [shared, r = std::move(r)]() mutable { std::move(*shared)(std::move(r)); });
        });
      },
      use_awaitable);
}

// The head and the body in one gathered write (one sendmsg for a small response); a large body to
// a slow client is fine while it keeps reading at min_rate.
awaitable<bool> Server::Impl::write(beast::tcp_stream& stream, Response& r, bool keep_alive, unsigned version,
                                    bool head) {
  const bool none = bodiless(r.status);
  const std::string text = response_head(r, version, keep_alive, none ? std::nullopt : std::optional<uint64_t>(r.body.size()));
  const std::string_view body = head || none ? std::string_view() : std::string_view(r.body);
  const size_t total = text.size() + body.size();
  Progress p;
  for (size_t sent = 0; sent < total;) {
    std::array<asio::const_buffer, 2> rest{asio::buffer(text) + sent, asio::buffer(body.data(), body.size())};
    if (sent > text.size()) rest = {rest[1] + (sent - text.size()), asio::const_buffer()};
    stream.expires_after(opts.write_timeout);
    auto [ec, n] = co_await stream.async_write_some(rest, tuple_awaitable);
    if (ec) co_return false;
    sent += n;
    p.bytes += n;
    if (p.too_slow(opts.write_timeout, opts.min_rate)) co_return false;
  }
  co_return true;
}

// The head, then the file with sendfile(2): the bytes go from the page cache to
// the socket without passing through this process. Each wait for the socket to drain has the
// write deadline; the whole transfer must keep min_rate, as any other response.
awaitable<bool> Server::Impl::write_file(beast::tcp_stream& stream, Response& r, bool keep_alive, unsigned version,
                                         bool head) {
  const FileBody& f = *r.file;
  const std::string text = response_head(r, version, keep_alive, uint64_t(f.length));
  auto& sock = stream.socket();
  // Corked: the header and the file's first bytes leave in full segments, and the last one at once
  // when uncorked (else Nagle holds the body behind the header's ACK, which the client delays).
  const int fd = sock.native_handle();
  struct Cork {
    int fd;
    explicit Cork(int f) : fd(f) { set(1); }
    ~Cork() { set(0); }
    void set(int on) const { ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on); }
  } cork(fd);
  stream.expires_after(opts.write_timeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(text), tuple_awaitable);
  if (ec) co_return false;
  if (head) co_return true;
  sock.native_non_blocking(true, ec);
  if (ec) co_return false;
  off_t off = off_t(f.offset);
  int64_t left = f.length;
  Progress p;
  while (left > 0) {
    ssize_t sent = ::sendfile(fd, f.fd, &off, size_t(std::min<int64_t>(left, 1 << 20)));
    if (sent > 0) {
      left -= sent;
      p.bytes += size_t(sent);
      if (p.too_slow(opts.write_timeout, opts.min_rate)) co_return false;
      continue;
    }
    if (sent == 0 || (errno != EAGAIN && errno != EINTR)) co_return false;  // the file shrank, or the peer left
    if (errno == EINTR) continue;
    asio::steady_timer deadline(co_await asio::this_coro::executor, opts.write_timeout);
    deadline.async_wait([&sock](const beast::error_code& e) {
      beast::error_code ignored;
      if (!e) sock.cancel(ignored);
    });
    auto [wec] = co_await sock.async_wait(tcp::socket::wait_write, tuple_awaitable);
    deadline.cancel();
    if (wec) co_return false;
  }
  co_return true;
}

awaitable<void> Server::Impl::write_stream(beast::tcp_stream& stream, Response& r) {
  // Head first, then each piece as the producer delivers it, until it ends or the client leaves.
  r.set_header("Cache-Control", "no-cache");
  const std::string head = response_head(r, 11, false, std::nullopt);
  stream.expires_after(opts.write_timeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(head), tuple_awaitable);
  auto ex = co_await asio::this_coro::executor;
  while (!ec) {
    auto piece = co_await asio::async_initiate<decltype(use_awaitable), void(std::optional<std::string>)>(
        [&r, ex](auto h) {
          auto shared = std::make_shared<decltype(h)>(std::move(h));
          r.stream->next([shared, ex](std::optional<std::string> p) {
            asio::post(ex, [shared, p = std::move(p)]() mutable { std::move(*shared)(std::move(p)); });
          });
        },
        use_awaitable);
    if (!piece) break;
    stream.expires_after(opts.write_timeout);
    std::tie(ec, n) = co_await asio::async_write(stream, asio::buffer(*piece), tuple_awaitable);
  }
  if (ec) r.stream->cancel();
}

awaitable<void> Server::Impl::turn_away(tcp::socket sock, int status, std::string message) {
  beast::tcp_stream stream(std::move(sock));
  Response r = handler.refuse("/", status, message);
  co_await write(stream, r, false, 11, false);
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.close();
}

awaitable<void> Server::Impl::session(tcp::socket sock) {
  beast::error_code ec;
  const std::string remote = sock.remote_endpoint(ec).address().to_string();
  const FrontDoor::Admit admit = door.connect(remote);
  if (admit == FrontDoor::Admit::ok) co_await admitted(std::move(sock), remote);
  else if (admit == FrontDoor::Admit::ip_full) co_await turn_away(std::move(sock), 503, "Too many connections from this address");
  else sock.close(ec);  // the server is full: nothing more spent on it
}

awaitable<void> Server::Impl::admitted(tcp::socket sock, const std::string& remote) {
  struct Leave {
    FrontDoor& door;
    const std::string& ip;
    ~Leave() { door.disconnect(ip); }
  } leave{door, remote};
  beast::tcp_stream stream(std::move(sock));
  co_await serve(stream, remote);
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.close();
}

awaitable<std::optional<Response>> Server::Impl::precheck(Request head) {
  auto ex = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(use_awaitable), void(std::optional<Response>)>(
      [this, &head, ex](auto h) mutable {
        auto shared = std::make_shared<decltype(h)>(std::move(h));
        handler.precheck(std::move(head), [shared, ex](std::optional<Response> r) {
          asio::post(ex, [shared, r = std::move(r)]() mutable { std::move(*shared)(std::move(r)); });
        });
      },
      use_awaitable);
}

awaitable<Server::Impl::BodyRead> Server::Impl::read_body(beast::tcp_stream& stream, beast::flat_buffer& buf,
                                                          http::request_parser<http::string_body>& parser) {
  Progress p;
  while (!parser.is_done()) {
    stream.expires_after(opts.read_timeout);
    auto [ec, n] = co_await http::async_read_some(stream, buf, parser, tuple_awaitable);
    if (ec == http::error::body_limit) co_return BodyRead::over_limit;
    if (ec && ec != http::error::need_buffer) co_return BodyRead::failed;
    p.bytes += n;
    if (p.too_slow(opts.read_timeout, opts.min_rate)) co_return BodyRead::too_slow;
  }
  co_return BodyRead::complete;
}

awaitable<void> Server::Impl::serve(beast::tcp_stream& stream, const std::string& remote) {
  beast::flat_buffer buf;
  bool first = true;
  auto& here = open_conns[t_context];
  const auto me = here.insert(here.end(), Open{&stream, false});
  struct Close {
    std::list<Open>& list;
    std::list<Open>::iterator at;
    ~Close() { list.erase(at); }
  } close{here, me};
  while (!stopping) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opts.header_limit));
    parser.body_limit(boost::none);  // set per route once the header is known

    // Between requests on a kept-alive connection the idle deadline applies; shutdown may cut it.
    const bool idle = !first && buf.size() == 0;
    me->idle = idle;
    first = false;
    stream.expires_after(idle ? opts.idle_timeout : opts.read_timeout);
    auto [hec, hn] = co_await http::async_read_header(stream, buf, parser, tuple_awaitable);
    me->idle = false;
    if (hec) {
      if (hec == http::error::header_limit) {
        Response r = handler.refuse("/", 431, "Request headers are too large");
        co_await write(stream, r, false, 11, false);
      } else if (hec != http::error::end_of_stream && hec != beast::error::timeout &&
                 hec != asio::error::connection_reset && hec != asio::error::eof && hec != asio::error::operation_aborted &&
                 (hn > 0 || buf.size() > 0)) {  // bytes arrived and were not HTTP: a garbage request line
        Response r = handler.refuse("/", 400, "Malformed HTTP request");
        co_await write(stream, r, false, 11, false);
      }
      co_return;
    }
    // From here the request counts as in flight: a shutdown waits for it (up to the grace period).
    in_flight++;
    struct Done {
      std::atomic<int>& n;
      ~Done() { n--; }
    } done_guard{in_flight};
    auto& hdr = parser.get();
    Request req;
    req.method = std::string(hdr.method_string());
    req.target = std::string(hdr.target());
    req.path = normalize_path(std::string_view(req.target).substr(0, req.target.find('?')));
    if (auto q = req.target.find('?'); q != std::string::npos) req.query = req.target.substr(q + 1);
    for (auto& f : hdr) {
      std::string name(f.name_string());
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      req.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    req.remote_ip = remote;
    const bool keep_alive = hdr.keep_alive();
    const bool head = hdr.method() == http::verb::head;
    const unsigned version = hdr.version();

    // A body is read only when it can matter: within the route's limit, past the route and the
    // credential (decided from the headers alone), and within the front door's byte budget.
    size_t reserved = 0;
    struct Unreserve {
      FrontDoor& door;
      const std::string& ip;
      size_t& n;
      ~Unreserve() {
        if (n) door.release(ip, n);
      }
    } unreserve{door, remote, reserved};
    // A refusal before or while the body arrives: the unread rest makes the connection unusable.
    auto refuse = [&](Response r) -> awaitable<void> {
      co_await write(stream, r, false, version, false);
      co_await drain(stream);
    };
    if (parser.chunked() || (parser.content_length() && *parser.content_length() > 0)) {
      const size_t limit = handler.body_limit(req.method, req.path);
      const std::string too_large = "Request body is larger than " + std::to_string(limit) + " bytes";
      if (parser.content_length() && *parser.content_length() > limit) {
        co_await refuse(handler.refuse(req.path, 413, too_large));
        co_return;
      }
      if (auto refusal = co_await precheck(req)) {
        co_await refuse(std::move(*refusal));
        co_return;
      }
      const size_t want = parser.content_length() ? size_t(*parser.content_length()) : limit;
      if (!door.reserve(remote, want)) {
        co_await refuse(handler.refuse(req.path, 503, "The server is receiving too much at once; retry shortly"));
        co_return;
      }
      reserved = want;
      parser.body_limit(limit);
      if (beast::iequals(hdr[http::field::expect], "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, 11};
        stream.expires_after(opts.write_timeout);
        co_await http::async_write(stream, cont, tuple_awaitable);
      }
      const BodyRead got = co_await read_body(stream, buf, parser);
      if (got == BodyRead::failed) co_return;  // no progress, a disconnect, a malformed body
      if (got == BodyRead::over_limit) {       // chunked past the limit
        co_await refuse(handler.refuse(req.path, 413, too_large));
        co_return;
      }
      if (got == BodyRead::too_slow) {
        Response r = handler.refuse(req.path, 408, "The request body arrived too slowly");
        co_await write(stream, r, false, version, false);
        co_return;
      }
      req.body = std::move(parser.get().body());
    }

    Response res = co_await dispatch(std::move(req));
    if (reserved) door.release(remote, reserved), reserved = 0;
    bool ok;
    if (res.stream) {
      co_await write_stream(stream, res);
      ok = false;
    } else if (res.file) {
      ok = co_await write_file(stream, res, keep_alive && !stopping, version, head);
    } else {
      ok = co_await write(stream, res, keep_alive && !stopping, version, head);
    }
    if (!ok || !keep_alive) co_return;
  }
}

}  // namespace varg
