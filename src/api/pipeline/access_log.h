// The pipeline's last step: one metrics observation and one access-log line per request (through
// the buffered log sink, server/log_sink.h), whatever the answer was.
#pragma once
#include <cstdint>
#include <string>

#include "api/metrics.h"
#include "api/pipeline/route.h"

namespace varg {

// The line: {"msg":"request","method","route","status","duration_us","request_id"[,"key_id","user_id"]}.
std::string access_line(const Request& req, const std::string& route, int status, int64_t us, const Ctx& ctx);
void access_log(Metrics& metrics, const Request& req, const std::string& route, int status, int64_t us, const Ctx& ctx);

}  // namespace varg
