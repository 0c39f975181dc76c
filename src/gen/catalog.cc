#include "gen/catalog.h"

#include <algorithm>
#include <stdexcept>

#include "gen/catalog_json.h"

namespace varg {

using json = nlohmann::json;

int64_t ModelSpec::price(int duration) const {
  if (per_seconds <= 0 || !timed) return credits;
  int units = (std::max(duration, 1) + per_seconds - 1) / per_seconds;
  return credits * units;
}

const FileRule* ModelSpec::file_rule(const std::string& media) const {
  for (auto& r : files)
    if (r.media == media) return &r;
  return nullptr;
}

std::string ModelSpec::default_aspect_ratio() const {
  const std::string def = capability == "image" ? "1:1" : "16:9";
  if (aspect_ratios.empty() || std::find(aspect_ratios.begin(), aspect_ratios.end(), def) != aspect_ratios.end()) return def;
  return aspect_ratios.front();
}

std::string ModelSpec::unit() const { return per_seconds > 0 ? std::to_string(per_seconds) + "s" : "request"; }

namespace {

const std::vector<std::string> kMedia = {"image", "video", "audio"};

bool known(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// An input source names something a request has (or is a literal value).
bool valid_source(const ModelSpec& s, const json& src) {
  if (!src.is_string()) return true;  // a literal number, boolean, object...
  const std::string v = src;
  if (v.starts_with("=")) return true;  // a literal string
  for (const char* p : {"prompt", "text", "voice", "language", "aspect_ratio", "duration", "duration:string",
                        "duration:seconds", "duration:ms", "duration:frames", "aspect_ratio:image_size"})
    if (v == p) return true;
  if (v.starts_with("choice:")) {
    for (auto& c : s.choices)
      if (c.name == v.substr(7)) return true;
    return false;
  }
  if (v.starts_with("file:") || v.starts_with("files:")) {
    std::string media = v.substr(v.find(':') + 1);
    media = media.substr(0, media.find(':'));
    return known(kMedia, media) || media == "any";
  }
  return false;
}

Result<ModelSpec> parse_model(const json& m) {
  ModelSpec s;
  s.id = m.at("id").get<std::string>();
  s.capability = m.at("capability").get<std::string>();
  s.provider = m.at("provider").get<std::string>();
  s.upstream = m.value("upstream", s.id);
  s.credits = m.at("credits").get<int64_t>();
  s.per_seconds = m.value("per_seconds", 0);
  s.durations = m.value("durations", std::vector<int>{});
  s.min_duration = m.value("min_duration", 1);
  s.max_duration = m.value("max_duration", 0);
  s.default_duration = m.value("default_duration", s.durations.empty() ? std::max(5, s.min_duration) : s.durations.front());
  s.prompt_optional = m.value("prompt_optional", false);
  s.timed = m.value("timed", true);
  s.fallback = m.value("fallback", "");
  s.aspect_ratios = m.value("aspect_ratios", std::vector<std::string>{});
  const json files = m.value("files", json::object()), choices = m.value("choices", json::object()),
             routes = m.value("routes", json::object());
  for (auto& [media, range] : files.items()) {
    if (!known(kMedia, media)) return error(Code::invalid, "catalog: model " + s.id + " takes files of unknown kind " + media);
    s.files.push_back({media, range.at(0).get<int>(), range.at(1).get<int>()});
  }
  for (auto& [name, c] : choices.items())
    s.choices.push_back({name, c.at("values").get<std::vector<std::string>>(), c.value("default", c.at("values").at(0).get<std::string>())});
  for (auto& [media, r] : routes.items()) {
    if (!known(kMedia, media)) return error(Code::invalid, "catalog: model " + s.id + " routes files of unknown kind " + media);
    s.routes[media] = r.is_string() ? ModelSpec::Route{r.get<std::string>(), json()}
                                    : ModelSpec::Route{r.at("endpoint").get<std::string>(), r.value("input", json())};
  }
  s.required_options = m.value("required_options", std::vector<std::string>{});
  s.input = m.value("input", json::object());
  static const std::vector<std::string> caps = {"image", "video", "speech", "music", "transcription", "ffmpeg"};
  if (!known(caps, s.capability))
    return error(Code::invalid, "catalog: model " + s.id + " has unknown capability " + s.capability);
  if (s.credits < 0) return error(Code::invalid, "catalog: model " + s.id + " has a negative price");
  if (!s.input.is_object()) return error(Code::invalid, "catalog: model " + s.id + ": input must be an object");
  std::vector<const json*> inputs = {&s.input};
  for (auto& [_, r] : s.routes)
    if (!r.input.is_null()) inputs.push_back(&r.input);
  for (const json* in : inputs)
    for (auto& [field, src] : in->items())
      if (!valid_source(s, src)) return error(Code::invalid, "catalog: model " + s.id + ": unknown input source for " + field);
  return s;
}

}  // namespace

Result<Catalog> Catalog::parse(const json& doc) {
  Catalog c;
  if (!doc.is_object() || !doc.contains("models") || !doc["models"].is_array())
    return error(Code::invalid, "catalog: expected {\"models\": [...]}");
  const json families = doc.value("families", json::object());
  for (auto& m : doc["models"]) {
    try {
      json merged = m;
      if (m.contains("family")) {
        const std::string f = m["family"];
        if (!families.contains(f)) return error(Code::invalid, "catalog: model " + m.value("id", "?") + " names unknown family " + f);
        merged = families[f];
        merged.merge_patch(m);  // objects (input, routes, files) merge key by key; null removes a key
      }
      auto s = parse_model(merged);
      if (!s.ok()) return s.status();
      if (c.find(s->id)) return error(Code::invalid, "catalog: model " + s->id + " listed twice");
      c.models_.push_back(std::move(*s));
    } catch (const json::exception& e) {
      return error(Code::invalid, "catalog: malformed model entry " + (m.is_object() ? m.value("id", "?") : "?") + ": " + e.what());
    }
  }
  for (auto& m : c.models_) {
    if (m.fallback.empty()) continue;
    const ModelSpec* alt = c.find(m.fallback);
    if (!alt || alt->capability != m.capability || alt->provider == m.provider)
      return error(Code::invalid, "catalog: model " + m.id + ": fallback " + m.fallback +
                                      " must be another provider's model of the same capability");
  }
  for (auto& v : doc.value("voices", json::array())) {
    Voice voice{v.value("voice_id", ""), v.value("name", ""), {}};
    for (auto& [k, x] : v.items())
      if (k != "voice_id" && k != "name" && x.is_string()) voice.labels[k] = x.get<std::string>();
    c.voices_.push_back(std::move(voice));
  }
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
