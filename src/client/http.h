// The one place libvarg speaks HTTP: libcurl, a deadline on every transfer, no exceptions.
#pragma once
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "varg/result.h"

namespace varg::client {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  bool has_body = false;
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  FILE* sink = nullptr;  // when set, the response body is written here instead of kept
  std::vector<std::string> keep_headers{};  // response header fields to return (their names)
};

struct HttpResponse {
  int status = 0;
  std::string body;
  size_t bytes = 0;  // body bytes received
  std::vector<std::pair<std::string, std::string>> headers{};  // those of keep_headers present
};

// Sends one request. Only transport failures (no connection, timeout) are errors here; any HTTP
// status, 4xx and 5xx included, is a response.
Result<HttpResponse> send(const HttpRequest& request);

}  // namespace varg::client
