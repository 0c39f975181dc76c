// Pipeline step 1, request id: every answer carries X-Request-Id, and the access-log line the same.
#pragma once
#include <string>

#include "http/message.h"

namespace varg {

// A fresh "req_" id (unique, not secret: a per-thread generator seeded once from the CSPRNG).
std::string new_request_id();
// The caller's X-Request-Id when it is sane (1–128 of A-Z a-z 0-9 - _ . :), else a fresh one.
std::string request_id_of(const Request& req);

}  // namespace varg
