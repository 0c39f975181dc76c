// Outgoing HTTP (libcurl) for provider adapters and input-file fetches: a deadline on every call,
// a cap on the response size, and SSRF protection (no private, loopback or link-local targets,
// checked on the resolved address of every connection, redirects included). Connections are
// pooled per host (keep-alive, DNS cache, TLS session reuse), in two pools kept apart by the
// call's allow_private rule.
#pragma once
#include <string>

#include "common/status.h"
#include "http/message.h"

namespace varg {

struct HttpCall {
  std::string method = "GET";
  std::string url;
  Headers headers;  // as sent
  std::string body;
  long timeout_ms = 30000;
  size_t max_bytes = 64u << 20;
  bool allow_private = false;  // tests and operators that run providers on their own network
};

struct HttpReply {
  long status = 0;
  Headers headers;  // names in lower case
  std::string body;
  std::string header(const std::string& lower_name) const;
};

// Transport failures: Code::timeout on a deadline, Code::forbidden for a refused private target,
// Code::payload_too_large past max_bytes, Code::provider_error for anything else.
Result<HttpReply> http_call(const HttpCall& call);

// Outgoing calls trust this PEM bundle instead of the system's CA store (--ca-file: a
// provider behind a corporate CA; the HTTPS fakes in tests). Call once at start, before any call.
void set_http_ca_file(const std::string& path);

// Whether a URL's host is, as written, a non-public address ("localhost", or an IP literal in any
// notation the resolver accepts): refused at once, without a lookup or a connection.
bool names_private_host(const std::string& url);

}  // namespace varg
