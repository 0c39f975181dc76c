// The HTTP/1.1 server core: Boost.Beast with one C++20 coroutine per connection, keep-alive, a
// deadline on every read and write, header/body limits, and graceful shutdown. Beast stays in
// server.cc; everything else speaks Request/Response.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "http/message.h"

namespace varg {

class Server {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 8080;
    int threads = 0;                                    // 0: one per core
    size_t header_limit = 16 * 1024;                    // bytes of request line + headers
    std::chrono::milliseconds read_timeout{30000};      // the request line and headers; then the body's progress
    std::chrono::milliseconds idle_timeout{60000};      // keep-alive wait for the next request
    std::chrono::milliseconds write_timeout{30000};     // progress of a response
    // Bodies and responses: each read or write must move some bytes within read/write_timeout,
    // and after the first read/write_timeout the transfer must average min_rate bytes/s.
    size_t min_rate = 1024;
    // The front door: open connections, and body bytes being received (whole declared lengths,
    // reserved before the body is read), globally and per client address.
    size_t max_connections = 10000, max_connections_per_ip = 512;
    size_t max_body_bytes = size_t(1) << 30, max_body_bytes_per_ip = size_t(256) << 20;
    std::chrono::milliseconds shutdown_grace{10000};    // in-flight requests get this long at SIGTERM
  };

  Server(Options opts, HttpHandler& handler);
  ~Server();

  // Binds and listens; returns the bound port (useful with port 0). Throws on failure.
  uint16_t listen();
  // Serves until stop() or SIGTERM/SIGINT, then drains in-flight requests within the grace period.
  void run(bool handle_signals = true);
  // SIGTERM and SIGINT begin a graceful stop from now on (run() would only catch them once it
  // starts): call it before announcing the address, so a signal right after start is not fatal.
  void catch_signals();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace varg
