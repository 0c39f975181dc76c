// JSON request-body helpers: parse with a clear 400, and typed field access that names the field.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace varg {

using json = nlohmann::json;

// Bounds on untrusted JSON (request bodies, permission documents, provider answers, the render
// evaluator's messages), checked in one pass over the text before any value is built: nothing
// deeper can reach the recursive parts of nlohmann::json (copy, dump, comparison, hashing).
struct JsonLimits {
  int max_depth = 64;
  size_t max_elements = 200000;  // objects, arrays and separators: about the values in the text
};
Status check_json_bounds(std::string_view text, const JsonLimits& limits = {});

// Untrusted JSON of any shape: 400 (field "body") when it is malformed or out of bounds.
Result<json> parse_untrusted(std::string_view text, const JsonLimits& limits = {});

// Parses a request body that must be a JSON object (an empty body is an empty object); bounded.
Result<json> parse_object(const std::string& body);

// Typed access to an optional field: absent or null → nullopt; present with the wrong type → 400 naming it.
Result<std::optional<std::string>> opt_string(const json& obj, const char* field);
Result<std::optional<int64_t>> opt_int(const json& obj, const char* field);
Result<std::optional<double>> opt_number(const json& obj, const char* field);
Result<std::optional<json>> opt_object(const json& obj, const char* field);
// The same, but absence is a 400 "<field> is required".
Result<std::string> req_string(const json& obj, const char* field);

}  // namespace varg
