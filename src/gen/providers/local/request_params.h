// Reading the local models' parameters from the normalized request, with the error that names
// the field when one is missing, of the wrong type or out of range.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace varg::local {

// A string field; absent or null gives `fallback`, or Code::invalid when `required`.
Result<std::string> string_param(const nlohmann::json& params, const char* field, bool required,
                                 const std::string& fallback = {});

// A number of seconds in [lo, hi]; absent or null gives `fallback`.
Result<double> duration_param(const nlohmann::json& params, double fallback, double lo, double hi);

}  // namespace varg::local
