#include "common/status.h"

namespace varg {

int http_status(Code c) {
  switch (c) {
    case Code::ok: return 200;
    case Code::invalid: return 400;
    case Code::unauthorized: return 401;
    case Code::insufficient_balance: return 402;
    case Code::forbidden: return 403;
    case Code::not_found: return 404;
    case Code::method_not_allowed: return 405;
    case Code::conflict: return 409;
    case Code::payload_too_large: return 413;
    case Code::rate_limited: return 429;
    case Code::internal: return 500;
    case Code::provider_error: return 502;
    case Code::unavailable: return 503;
    case Code::timeout: return 504;
    case Code::insufficient_storage: return 507;
  }
  return 500;
}

const char* code_name(Code c) {
  switch (c) {
    case Code::ok: return "ok";
    case Code::invalid: return "validation_error";
    case Code::unauthorized: return "unauthorized";
    case Code::insufficient_balance: return "insufficient_balance";
    case Code::forbidden: return "forbidden";
    case Code::not_found: return "not_found";
    case Code::method_not_allowed: return "method_not_allowed";
    case Code::conflict: return "conflict";
    case Code::payload_too_large: return "payload_too_large";
    case Code::rate_limited: return "rate_limited";
    case Code::internal: return "internal_error";
    case Code::provider_error: return "provider_error";
    case Code::unavailable: return "service_unavailable";
    case Code::timeout: return "timeout";
    case Code::insufficient_storage: return "insufficient_storage";
  }
  return "internal_error";
}

}  // namespace varg
