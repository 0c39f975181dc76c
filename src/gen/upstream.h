// What every remote provider adapter shares: calls with a deadline, retries with exponential
// backoff on 429 and 5xx (honouring Retry-After), a cancel flag, and answers parsed as JSON or
// turned into a provider_error that names the provider and never contains the key.
#pragma once
#include <atomic>
#include <nlohmann/json.hpp>
#include <string>

#include "http/client.h"

namespace varg {

struct Upstream {
  std::string provider;  // for error messages
  std::string base_url;
  bool allow_private = false;  // fakes on loopback in tests
  long timeout_ms = 60000;
  int attempts = 4;
  long backoff_ms = 500;
  long poll_ms = 1000;        // between status polls
  long max_wait_ms = 900000;  // a generation that never finishes fails after this

  // One call with retries; a 2xx is returned, anything else becomes an error Status.
  Result<HttpReply> call(HttpCall c, const std::atomic<bool>& cancelled) const;
  // call() and the body parsed as a JSON object.
  Result<nlohmann::json> call_json(HttpCall c, const std::atomic<bool>& cancelled) const;
  Status failure(const std::string& what) const;
  // A failure that says the provider is down or struggling (5xx or 429 after every retry, no
  // connection, timeouts, garbage): it counts toward the provider's circuit breaker, and the
  // Status carries a Retry-After.
  Status outage(const std::string& what) const;
  // Sleeps up to ms, waking early when cancelled; false if cancelled.
  static bool pause(long ms, const std::atomic<bool>& cancelled);
};

// Percent-encoding of a path segment or query value (RFC 3986 unreserved characters kept).
std::string url_encode(const std::string& s);

// multipart/form-data with text fields only (media goes by URL).
struct Multipart {
  std::string boundary;
  std::string body;
  Multipart();
  void field(const std::string& name, const std::string& value);
  std::string finish() const { return body + "--" + boundary + "--\r\n"; }
  std::string content_type() const { return "multipart/form-data; boundary=" + boundary; }
};

}  // namespace varg
