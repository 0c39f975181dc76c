#include "gen/request.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/crypto.h"
#include "common/json.h"
#include "common/text.h"
#include "gen/media_type.h"
#include "gen/upstream_input.h"
#include "media/media.h"

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

Result<std::string> aspect_ratio(const json& body, const ModelSpec& m) {
  auto v = opt_string(body, "aspect_ratio");
  if (!v.ok()) return v.status();
  const auto& allowed = m.aspect_ratios;
  std::string ar = v->value_or(m.default_aspect_ratio());
  auto colon = ar.find(':');
  bool ok = colon != std::string::npos && colon > 0 && colon + 1 < ar.size() && ar.size() <= 9 &&
            ar.find_first_not_of("0123456789:") == std::string::npos && ar.find(':', colon + 1) == std::string::npos &&
            ar[0] != '0' && ar[colon + 1] != '0';
  if (!ok) return bad("aspect_ratio", "Field 'aspect_ratio' must look like \"16:9\"");
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), ar) == allowed.end())
    return bad("aspect_ratio", "Model " + m.id + " accepts aspect ratios " + join(allowed) + ", not " + ar);
  return ar;
}

// Counts the files whose kind is known now (a media_type given, or a telling extension) against the
// model's rules; files of unknown kind are checked when the job has fetched them.
Status check_files(const ModelSpec& m, const std::vector<json>& files) {
  int capacity = 0, needed = 0;
  for (auto& r : m.files) capacity += r.max, needed += r.min;
  if (m.files.empty() && !files.empty()) return bad("files", "Model " + m.id + " takes no input files");
  if (int(files.size()) > capacity)
    return bad("files", "Model " + m.id + " takes at most " + std::to_string(capacity) + " input file" + (capacity > 1 ? "s" : ""));
  if (int(files.size()) < needed) {
    std::string what;
    for (auto& r : m.files)
      if (r.min) what += (what.empty() ? "" : " and ") + std::to_string(r.min) + " " + r.media;
    return bad("files", "Model " + m.id + " needs " + what + " file" + (needed > 1 ? "s" : "") + " in 'files'");
  }
  std::map<std::string, int> counted;
  for (auto& f : files) {
    std::string type = f.contains("media_type") && f["media_type"].is_string() ? f["media_type"].get<std::string>() : "";
    if (type.empty()) type = media_type_for_extension(f["url"].get<std::string>());
    if (std::string kind = media_kind(type); !kind.empty()) counted[kind]++;
  }
  return check_file_kinds(m, counted, false);
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
  } else if ((m.max_duration && secs > m.max_duration) || secs < m.min_duration) {
    return bad("duration", "Model " + m.id + " accepts durations of " + std::to_string(m.min_duration) + " to " +
                               (m.max_duration ? std::to_string(m.max_duration) : std::string("3600")) + " s, not " + it->dump());
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

  if (cap == "ffmpeg") {  // media processing: its own fields (media/media.h)
    auto n = media::normalize(m.id, body);
    if (!n.ok()) return n.status();
    r.params = std::move(n->params);
    for (auto& url : n->inputs) r.files.push_back(json{{"url", url}});
    return r;
  }
  json p = json::object();
  auto opts = opt_object(body, "provider_options");
  if (!opts.ok()) return opts.status();
  p["provider_options"] = opts->value_or(json::object());

  auto files = files_field(body);
  if (!files.ok()) return files.status();
  r.files = std::move(*files);

  if (cap == "image" || cap == "video") {
    const bool omitted = m.prompt_optional && (!body.contains("prompt") || body["prompt"].is_null());
    auto prompt = omitted ? Result<std::string>(std::string()) : text_field(body, "prompt", m.prompt_optional || cap == "video", 10000);
    if (!prompt.ok()) return prompt.status();
    if (prompt->empty() && !m.prompt_optional) return bad("prompt", "Field 'prompt' must not be empty for model " + m.id);
    p["prompt"] = *prompt;
    auto ar = aspect_ratio(body, m);
    if (!ar.ok()) return ar.status();
    p["aspect_ratio"] = *ar;
    if (m.takes_duration()) {
      auto d = duration(body, m);
      if (!d.ok()) return d.status();
      p["duration"] = *d;
    }
    VARG_TRY(check_files(m, r.files));
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
  for (auto& o : m.required_options)
    if (!p["provider_options"].contains(o))
      return bad("provider_options", "Model " + m.id + " needs provider_options." + o);
  for (auto& c : m.choices) {
    auto v = opt_string(body, c.name.c_str());
    if (!v.ok()) return v.status();
    std::string value = v->value_or(c.def);
    if (std::find(c.values.begin(), c.values.end(), value) == c.values.end())
      return bad(c.name, "Model " + m.id + " accepts " + c.name + " " + join(c.values) + ", not " + value);
    p[c.name] = value;
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
