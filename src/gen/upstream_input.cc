#include "gen/upstream_input.h"

#include <cmath>
#include <map>

namespace varg {

using json = nlohmann::json;

std::string media_kind(const std::string& media_type) {
  for (const char* k : {"image", "video", "audio"})
    if (media_type.starts_with(std::string(k) + "/")) return k;
  return "";
}

namespace {

// fal's named image sizes; any other ratio becomes about one megapixel of that shape.
json image_size(const std::string& ratio) {
  static const std::map<std::string, std::string> named = {{"1:1", "square_hd"},      {"16:9", "landscape_16_9"},
                                                           {"9:16", "portrait_16_9"}, {"4:3", "landscape_4_3"},
                                                           {"3:4", "portrait_4_3"}};
  if (auto it = named.find(ratio); it != named.end()) return it->second;
  const double w = std::stod(ratio.substr(0, ratio.find(':'))), h = std::stod(ratio.substr(ratio.find(':') + 1));
  const double scale = std::sqrt(1048576.0 / (w * h));
  auto even16 = [](double v) { return std::max(64, int(std::lround(v / 16)) * 16); };
  return {{"width", even16(w * scale)}, {"height", even16(h * scale)}};
}

}  // namespace

Status check_file_kinds(const ModelSpec& m, const std::map<std::string, int>& counts, bool complete) {
  for (auto& [kind, n] : counts) {
    const FileRule* rule = m.file_rule(kind);
    if (!rule || n > rule->max)
      return error(Code::invalid, "Model " + m.id + " takes " + (rule && rule->max ? "at most " + std::to_string(rule->max) : "no") +
                                      " " + (kind.empty() ? "files of this type" : kind + " files"), "files");
  }
  if (complete)
    for (auto& r : m.files)
      if (auto it = counts.find(r.media); (it == counts.end() ? 0 : it->second) < r.min)
        return error(Code::invalid, "Model " + m.id + " needs " + std::to_string(r.min) + " " + r.media + " file" +
                                        (r.min > 1 ? "s" : "") + " in 'files'", "files");
  return Status::Ok();
}

Result<UpstreamRequest> upstream_request(const ModelSpec& m, const json& params, const std::vector<InputFile>& inputs) {
  std::map<std::string, std::vector<std::string>> by_kind;
  std::map<std::string, int> counts;
  std::vector<std::string> all;
  for (auto& f : inputs) {
    const std::string kind = media_kind(f.media_type);
    by_kind[kind].push_back(f.url);
    counts[kind]++;
    all.push_back(f.url);
  }
  if (m.capability != "transcription") VARG_TRY(check_file_kinds(m, counts, true));
  UpstreamRequest out{m.upstream, params.value("provider_options", json::object())};
  const json* mapping = &m.input;
  for (const char* kind : {"video", "image", "audio"})
    if (auto it = m.routes.find(kind); it != m.routes.end() && !by_kind[kind].empty()) {
      out.endpoint = it->second.endpoint;
      if (!it->second.input.is_null()) mapping = &it->second.input;
      break;
    }
  const int duration = params.value("duration", m.default_duration);
  for (auto& [field, src] : mapping->items()) {
    if (!src.is_string()) {
      out.input[field] = src;
      continue;
    }
    const std::string s = src;
    json v;
    if (s.starts_with("=")) {
      v = s.substr(1);
    } else if (s == "duration") {
      v = duration;
    } else if (s == "duration:string") {
      v = std::to_string(duration);
    } else if (s == "duration:seconds") {
      v = std::to_string(duration) + "s";
    } else if (s == "duration:ms") {
      v = duration * 1000;
    } else if (s == "duration:frames") {  // at 25 frames per second (LTX), plus the first frame
      v = duration * 25 + 1;
    } else if (s == "aspect_ratio:image_size") {
      v = image_size(params.value("aspect_ratio", "1:1"));
    } else if (s.starts_with("choice:")) {
      v = params.value(s.substr(7), json());
    } else if (s.starts_with("file:") || s.starts_with("files:")) {
      const bool many = s.starts_with("files:");
      std::string kind = s.substr(s.find(':') + 1);
      size_t nth = 1;
      if (auto colon = kind.find(':'); colon != std::string::npos) {
        nth = std::stoul(kind.substr(colon + 1));
        kind = kind.substr(0, colon);
      }
      const auto& urls = kind == "any" ? all : by_kind[kind];
      if (many && !urls.empty()) v = urls;
      if (!many && urls.size() >= nth) v = urls[nth - 1];
    } else if (params.contains(s) && !(params[s].is_string() && params[s].get<std::string>().empty())) {
      v = params[s];  // prompt, text, voice, language, aspect_ratio
    }
    if (v.is_null()) {
      out.input.erase(field);  // nothing to send: never a caller's own value in a mapped field
    } else {
      out.input[field] = std::move(v);
    }
  }
  return out;
}

}  // namespace varg
