#include <nlohmann/json.hpp>

#include "common/json.h"
#include "gen/provider_keys.h"
#include "render/render_service.h"  // RenderRequest

namespace varg::render {

Result<RenderRequest> RenderRequest::parse(std::string_view text) {
  auto parsed = parse_untrusted(text);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) return error(Code::invalid, "Invalid JSON: the body must be a JSON object", "body");
  const json& body = *parsed;
  RenderRequest r;
  if (!body.contains("code") || !body["code"].is_string() || body["code"].get<std::string>().empty())
    return error(Code::invalid, "Field 'code' is required: a varg TSX composition (export default <Render>…</Render>)", "code");
  r.code = body["code"];
  if (r.code.size() > 256 * 1024) return error(Code::invalid, "Field 'code' is longer than 256 KiB", "code");
  r.mode = body.value("mode", json("strict")).is_string() ? body.value("mode", std::string("strict")) : "";
  if (r.mode != "strict" && r.mode != "preview") return error(Code::invalid, "Field 'mode' must be \"strict\" or \"preview\"", "mode");
  r.output = body.value("output", json("video")).is_string() ? body.value("output", std::string("video")) : "";
  if (r.output != "video" && r.output != "frames") return error(Code::invalid, "Field 'output' must be \"video\" or \"frames\"", "output");
  r.verbose = body.value("verbose", json(false)).is_boolean() && body.value("verbose", false);
  if (body.contains("providerKeys") && !body["providerKeys"].is_null()) {
    const json& pk = body["providerKeys"];
    if (!pk.is_object()) return error(Code::invalid, "Field 'providerKeys' must be an object of provider → key", "providerKeys");
    for (auto& [k, v] : pk.items()) {
      bool known = false;
      for (auto& p : byok_providers()) known = known || p == k;
      if (!known) return error(Code::invalid, "Unknown provider in 'providerKeys': " + k, "providerKeys");
      if (!v.is_string()) return error(Code::invalid, "providerKeys." + k + " must be a string", "providerKeys");
      if (!v.get<std::string>().empty()) r.provider_keys[k] = v;
    }
  }
  return r;
}


}  // namespace varg::render
