#include "common/json.h"

#include <nlohmann/json.hpp>

namespace varg {

Status check_json_bounds(std::string_view text, const JsonLimits& limits) {
  int depth = 0;
  size_t elements = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '{':
      case '[':
        if (++depth > limits.max_depth)
          return error(Code::invalid, "Invalid JSON: nested deeper than " + std::to_string(limits.max_depth) + " levels", "body");
        [[fallthrough]];
      case ',':
        if (++elements > limits.max_elements)
          return error(Code::invalid, "Invalid JSON: more than " + std::to_string(limits.max_elements) + " elements", "body");
        break;
      case '}':
      case ']': depth--; break;
      default: break;
    }
  }
  return Status::Ok();
}

Result<json> parse_untrusted(std::string_view text, const JsonLimits& limits) {
  VARG_TRY(check_json_bounds(text, limits));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return error(Code::invalid, "Invalid JSON", "body");
  return j;
}

Result<json> parse_object(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  VARG_TRY(check_json_bounds(body, {}));
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return error(Code::invalid, "Request body is not valid JSON");
  if (!j.is_object()) return error(Code::invalid, "Request body must be a JSON object");
  return j;
}

namespace {
Status wrong_type(const char* field, const char* want) {
  return error(Code::invalid, std::string("Field '") + field + "' must be " + want, field);
}
}  // namespace

Result<std::optional<std::string>> opt_string(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string()) return wrong_type(field, "a string");
  return std::optional<std::string>{it->get<std::string>()};
}

Result<std::optional<int64_t>> opt_int(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<int64_t>{};
  if (it->is_number_integer() || it->is_number_unsigned()) {
    if (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(INT64_MAX)) return wrong_type(field, "an integer in range");
    return std::optional<int64_t>{it->get<int64_t>()};
  }
  return wrong_type(field, "an integer");
}

Result<std::optional<double>> opt_number(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<double>{};
  if (!it->is_number()) return wrong_type(field, "a number");
  return std::optional<double>{it->get<double>()};
}

Result<std::optional<json>> opt_object(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<json>{};
  if (!it->is_object()) return wrong_type(field, "an object");
  return std::optional<json>{*it};
}

Result<std::string> req_string(const json& obj, const char* field) {
  auto v = opt_string(obj, field);
  if (!v.ok()) return v.status();
  if (!*v) return error(Code::invalid, std::string("Field '") + field + "' is required", field);
  return std::move(**v);
}

}  // namespace varg
