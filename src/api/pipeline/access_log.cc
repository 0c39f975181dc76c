#include "api/pipeline/access_log.h"

#include <spdlog/spdlog.h>

namespace varg {

std::string access_line(const Request& req, const std::string& route, int status, int64_t us, const Ctx& ctx) {
  // Built by hand on the hot path: every part is a token we control (the method passed the HTTP
  // parser, the route is our pattern, the request id is sanitized), so nothing needs escaping.
  std::string line = "{\"msg\":\"request\",\"method\":\"" + req.method + "\",\"route\":\"" + route +
                     "\",\"status\":" + std::to_string(status) + ",\"duration_us\":" + std::to_string(us) +
                     ",\"request_id\":\"" + ctx.request_id + "\"";
  if (ctx.principal.key_id) line += ",\"key_id\":" + std::to_string(ctx.principal.key_id);
  if (ctx.principal.user_id) line += ",\"user_id\":" + std::to_string(ctx.principal.user_id);
  return line + "}";
}

void access_log(Metrics& metrics, const Request& req, const std::string& route, int status, int64_t us, const Ctx& ctx) {
  metrics.observe(req.method, route, status, us);
  if (spdlog::should_log(spdlog::level::info)) spdlog::info(access_line(req, route, status, us, ctx));
}

}  // namespace varg
