#include "gen/request.h"

#include <cmath>

#include "common/crypto.h"
#include "common/json.h"

namespace varg {

using json = nlohmann::json;


namespace {

Status bad(const std::string& field, const std::string& msg) { return error(Code::invalid, msg, field); }

Result<std::string> text_field(const json& body, const char* field, bool allow_empty, size_t max) {
  auto v = req_string(body, field);
  if (!v.ok()) return v;
  if (v->empty() && !allow_empty) return bad(field, std::string("Field '") + field + "' must not be empty");
  if (v->size() > max) return bad(field, std::string("Field '") + field + "' is longer than " + std::to_string(max) + " characters");
  return v;
}

Result<std::string> aspect_ratio(const json& body, const char* def) {
  auto v = opt_string(body, "aspect_ratio");
  if (!v.ok()) return v.status();
  std::string ar = v->value_or(def);
  auto colon = ar.find(':');
  bool ok = colon != std::string::npos && colon > 0 && colon + 1 < ar.size() && ar.size() <= 9 &&
            ar.find_first_not_of("0123456789:") == std::string::npos && ar.find(':', colon + 1) == std::string::npos;
  if (!ok) return bad("aspect_ratio", "Field 'aspect_ratio' must look like \"16:9\"");
  return ar;
}

Result<int> duration(const json& body, const ModelSpec& m) {
  auto it = body.find("duration");
  if (it == body.end() || it->is_null()) return m.default_duration;
  if (!it->is_number()) return bad("duration", "Field 'duration' must be a number of seconds");
  double d = it->get<double>();
  if (d != std::floor(d) || d < 1 || d > 3600)
    return bad("duration", "Model " + m.id + " does not accept a duration of " + it->dump() + " s");
  int secs = int(d);
  if (!m.durations.empty()) {
    if (std::find(m.durations.begin(), m.durations.end(), secs) == m.durations.end()) {
      std::string allowed;
      for (int x : m.durations) allowed += (allowed.empty() ? "" : ", ") + std::to_string(x);
      return bad("duration", "Model " + m.id + " accepts durations of " + allowed + " s, not " + it->dump());
    }
  } else if (m.max_duration && secs > m.max_duration) {
    return bad("duration", "Model " + m.id + " accepts at most " + std::to_string(m.max_duration) + " s");
  }
  return secs;
}

Result<std::vector<json>> files_field(const json& body) {
  std::vector<json> out;
  auto it = body.find("files");
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array()) return bad("files", "Field 'files' must be an array of {\"url\", \"media_type\"?}");
  if (it->size() > 16) return bad("files", "At most 16 input files");
  for (auto& f : *it) {
    if (!f.is_object() || !f.contains("url") || !f["url"].is_string())
      return bad("files", "Each entry of 'files' must be an object with a string 'url'");
    if (f.contains("media_type") && !f["media_type"].is_null() && !f["media_type"].is_string())
      return bad("files", "'media_type' in 'files' must be a string");
    out.push_back(f);
  }
  return out;
}

}  // namespace

int64_t GenRequest::credits() const { return model->price(params.value("duration", model->default_duration)); }

json generate_attrs(const ModelSpec& model, int64_t credits) { return {{"model", model.id}, {"credits", credits}}; }

Status check_generate_right(const std::shared_ptr<const Permissions>& permissions, const std::string& capability,
                            const ModelSpec& model, int64_t credits) {
  if (permitted(permissions, "generate", "api.generate." + capability, generate_attrs(model, credits))) return Status::Ok();
  return error(Code::forbidden, "This API key may not generate " + capability + " with " + model.id);
}

Result<GenRequest> normalize_request(const std::string& cap, const json& body, const Catalog& catalog) {
  auto model_name = req_string(body, "model");
  if (!model_name.ok()) return model_name.status();
  GenRequest r;
  r.model = catalog.find(*model_name);
  if (!r.model) return bad("model", "Unknown model '" + *model_name + "'; GET /v1/models lists them");
  const ModelSpec& m = *r.model;
  if (m.capability != cap)
    return bad("model", "Model " + m.id + " is a " + m.capability + " model; use POST /v1/" + m.capability);

  json p = json::object();
  auto opts = opt_object(body, "provider_options");
  if (!opts.ok()) return opts.status();
  p["provider_options"] = opts->value_or(json::object());

  auto files = files_field(body);
  if (!files.ok()) return files.status();
  r.files = std::move(*files);

  if (cap == "image" || cap == "video") {
    auto prompt = text_field(body, "prompt", m.prompt_optional || cap == "video", 10000);
    if (!prompt.ok()) return prompt.status();
    if (prompt->empty() && !m.prompt_optional) return bad("prompt", "Field 'prompt' must not be empty for model " + m.id);
    p["prompt"] = *prompt;
    auto ar = aspect_ratio(body, cap == "image" ? "1:1" : "16:9");
    if (!ar.ok()) return ar.status();
    p["aspect_ratio"] = *ar;
    if (cap == "video") {
      auto d = duration(body, m);
      if (!d.ok()) return d.status();
      p["duration"] = *d;
    }
    if (m.needs_files && r.files.empty()) return bad("files", "Model " + m.id + " needs input files");
  } else if (cap == "speech") {
    auto text = text_field(body, "text", false, 5000);
    if (!text.ok()) return text.status();
    p["text"] = *text;
    auto voice = opt_string(body, "voice");
    if (!voice.ok()) return voice.status();
    std::string v = voice->value_or("rachel");
    if (v.empty() || v.size() > 100) return bad("voice", "Field 'voice' must be a voice alias or id");
    p["voice"] = m.provider == "local" ? v : catalog.voice_id(v);
  } else if (cap == "music") {
    auto prompt = text_field(body, "prompt", false, 2000);
    if (!prompt.ok()) return prompt.status();
    p["prompt"] = *prompt;
    auto d = duration(body, m);
    if (!d.ok()) return d.status();
    p["duration"] = *d;
  } else if (cap == "transcription") {
    auto url = text_field(body, "audio_url", false, 4096);
    if (!url.ok()) return url.status();
    r.files = {json{{"url", *url}}};
    auto lang = opt_string(body, "language");
    if (!lang.ok()) return lang.status();
    p["language"] = lang->value_or("");
  }
  r.params = std::move(p);
  return r;
}

std::string cache_key(const std::string& capability, const ModelSpec& model, const json& params,
                      const std::vector<std::string>& input_hashes, int64_t scope_user) {
  // nlohmann::json objects keep keys sorted, so dump() is canonical: order and whitespace vanish.
  json doc = {{"capability", capability}, {"model", model.qualified()}, {"params", params}, {"inputs", input_hashes}};
  if (scope_user) doc["account"] = scope_user;
  return "sha256:" + to_hex(sha256(doc.dump()));
}

}  // namespace varg
