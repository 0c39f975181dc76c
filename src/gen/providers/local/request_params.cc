#include "gen/providers/local/request_params.h"

#include <cmath>

namespace varg::local {

Result<std::string> string_param(const nlohmann::json& params, const char* field, bool required,
                                 const std::string& fallback) {
  const auto it = params.is_object() ? params.find(field) : params.end();
  if (it == params.end() || it->is_null()) {
    if (required) return error(Code::invalid, std::string(field) + " is required", field);
    return fallback;
  }
  if (!it->is_string()) return error(Code::invalid, std::string(field) + " must be a string", field);
  return it->get<std::string>();
}

Result<double> duration_param(const nlohmann::json& params, double fallback, double lo, double hi) {
  const auto it = params.is_object() ? params.find("duration") : params.end();
  if (it == params.end() || it->is_null()) return fallback;
  if (!it->is_number()) return error(Code::invalid, "duration must be a number of seconds", "duration");
  const double d = it->get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) {
    char msg[96];
    std::snprintf(msg, sizeof msg, "duration must be between %g and %g seconds", lo, hi);
    return error(Code::invalid, msg, "duration");
  }
  return d;
}

}  // namespace varg::local
