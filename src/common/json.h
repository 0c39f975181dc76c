// JSON request-body helpers: parse with a clear 400, and typed field access that names the field.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "common/status.h"

namespace varg {

using json = nlohmann::json;

// Parses a request body that must be a JSON object (an empty body is an empty object).
Result<json> parse_object(const std::string& body);

// Typed access to an optional field: absent or null → nullopt; present with the wrong type → 400 naming it.
Result<std::optional<std::string>> opt_string(const json& obj, const char* field);
Result<std::optional<int64_t>> opt_int(const json& obj, const char* field);
Result<std::optional<double>> opt_number(const json& obj, const char* field);
Result<std::optional<json>> opt_object(const json& obj, const char* field);
// The same, but absence is a 400 "<field> is required".
Result<std::string> req_string(const json& obj, const char* field);

}  // namespace varg
