#include "gen/catalog.h"

#include <algorithm>
#include <stdexcept>

#include "gen/catalog_json.h"

namespace varg {

using json = nlohmann::json;

int64_t ModelSpec::price(int duration) const {
  if (per_seconds <= 0) return credits;
  int units = (std::max(duration, 1) + per_seconds - 1) / per_seconds;
  return credits * units;
}

std::string ModelSpec::unit() const { return per_seconds > 0 ? std::to_string(per_seconds) + "s" : "request"; }

Result<Catalog> Catalog::parse(const json& doc) {
  Catalog c;
  if (!doc.is_object() || !doc.contains("models") || !doc["models"].is_array())
    return error(Code::invalid, "catalog: expected {\"models\": [...]}");
  static const std::vector<std::string> caps = {"image", "video", "speech", "music", "transcription"};
  for (auto& m : doc["models"]) {
    try {
      ModelSpec s;
      s.id = m.at("id").get<std::string>();
      s.capability = m.at("capability").get<std::string>();
      s.provider = m.at("provider").get<std::string>();
      s.upstream = m.value("upstream", s.id);
      s.credits = m.at("credits").get<int64_t>();
      s.per_seconds = m.value("per_seconds", 0);
      s.durations = m.value("durations", std::vector<int>{});
      s.default_duration = m.value("default_duration", s.durations.empty() ? 5 : s.durations.front());
      s.max_duration = m.value("max_duration", 0);
      s.prompt_optional = m.value("prompt_optional", false);
      s.needs_files = m.value("needs_files", false);
      if (std::find(caps.begin(), caps.end(), s.capability) == caps.end())
        return error(Code::invalid, "catalog: model " + s.id + " has unknown capability " + s.capability);
      if (s.credits < 0) return error(Code::invalid, "catalog: model " + s.id + " has a negative price");
      if (c.find(s.id)) return error(Code::invalid, "catalog: model " + s.id + " listed twice");
      c.models_.push_back(std::move(s));
    } catch (const json::exception& e) {
      return error(Code::invalid, std::string("catalog: malformed model entry: ") + e.what());
    }
  }
  for (auto& v : doc.value("voices", json::array()))
    c.voices_.push_back({v.value("voice_id", ""), v.value("name", "")});
  return c;
}

Catalog Catalog::builtin() {
  auto c = parse(json::parse(kCatalogJson));
  if (!c.ok()) throw std::runtime_error(c.status().message);
  return std::move(*c);
}

const ModelSpec* Catalog::find(const std::string& name) const {
  auto colon = name.find(':');
  std::string provider = colon == std::string::npos ? "" : name.substr(0, colon);
  std::string id = colon == std::string::npos ? name : name.substr(colon + 1);
  for (auto& m : models_)
    if (m.id == id && (provider.empty() || provider == m.provider)) return &m;
  return nullptr;
}

std::string Catalog::voice_id(const std::string& voice) const {
  for (auto& v : voices_)
    if (v.name == voice) return v.voice_id;
  return voice;
}

}  // namespace varg
