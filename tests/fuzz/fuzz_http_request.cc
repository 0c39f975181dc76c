// The HTTP request parser as vargd drives it (Beast's request_parser with our header limit),
// then path normalization and the router over the shapes of vargd's own routes.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <string>

#include "http/message.h"
#include "http/router.h"

namespace http = boost::beast::http;

static varg::Router& router() {
  static varg::Router r = [] {
    varg::Router x;
    for (const char* p : {"/v1/balance", "/v1/image", "/v1/jobs/{id}", "/v1/jobs/{id}/stream", "/files/{name}",
                          "/api/keys", "/api/keys/{id}", "/api/v0/auth/apikeys/", "/api/v0/auth/apikey/{id}/",
                          "/api/render/jobs/{id}", "/api/provider-keys/{provider}", "/dashboard/{path}"})
      for (const char* m : {"GET", "POST", "DELETE"}) x.add(m, p);
    return x;
  }();
  return r;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = 0;
  while (used < size && !parser.is_done()) {
    const size_t n = parser.put(boost::asio::buffer(data + used, size - used), ec);
    if (ec == http::error::need_more) break;
    if (ec || n == 0) return 0;
    used += n;
  }
  if (!parser.is_header_done()) return 0;
  const auto& req = parser.get();
  std::string target(req.target());
  const std::string path = varg::normalize_path(std::string_view(target).substr(0, target.find('?')));
  auto m = router().match(std::string(req.method_string()), path);
  if (m.kind == varg::Router::Match::found && m.index >= router().size()) __builtin_trap();
  return 0;
}
