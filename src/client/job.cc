#include "varg/job.h"

#include <map>

namespace varg::client {
namespace {

std::string str(const nlohmann::json& j, const char* name) {
  if (!j.is_object()) return {};
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The failure text: a string, or an object in the gateway's error shape.
std::string error_text(const nlohmann::json& body) {
  auto it = body.find("error");
  if (it == body.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return str(*it, "message");
  return {};
}

}  // namespace

Job job_from_response(const nlohmann::json& body) {
  Job job;
  job.body = body;
  if (!body.is_object()) return job;
  job.id = str(body, "job_id");
  job.status = str(body, "status");
  job.error = error_text(body);
  if (auto out = body.find("output"); out != body.end() && out->is_object()) {
    job.output_url = str(*out, "url");
    job.media_type = str(*out, "media_type");
  }
  if (auto cache = body.find("cache"); cache != body.end() && cache->is_object()) {
    auto hit = cache->find("hit");
    job.cache_hit = hit != cache->end() && hit->is_boolean() && hit->get<bool>();
  }
  return job;
}

Job job_from_render(const nlohmann::json& body) {
  Job job;
  job.body = body;
  if (!body.is_object()) return job;
  job.id = str(body, "job_id");
  job.status = str(body, "status");
  job.output_url = str(body, "output_url");
  job.error = error_text(body);
  return job;
}

std::string extension_for(const std::string& media_type, const std::string& url) {
  static const std::map<std::string, std::string> known = {
      {"image/png", ".png"},   {"image/jpeg", ".jpg"},      {"image/webp", ".webp"},  {"image/gif", ".gif"},
      {"video/mp4", ".mp4"},   {"video/webm", ".webm"},     {"video/quicktime", ".mov"},
      {"audio/wav", ".wav"},   {"audio/x-wav", ".wav"},     {"audio/wave", ".wav"},   {"audio/mpeg", ".mp3"},
      {"audio/ogg", ".ogg"},   {"audio/flac", ".flac"},     {"text/plain", ".txt"},   {"application/json", ".json"},
      {"text/vtt", ".vtt"},    {"application/x-subrip", ".srt"}};
  const std::string type = media_type.substr(0, media_type.find(';'));
  if (auto it = known.find(type); it != known.end()) return it->second;
  std::string path = url.substr(0, url.find_first_of("?#"));
  auto slash = path.rfind('/');
  auto dot = path.rfind('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash) && path.size() - dot <= 6)
    return path.substr(dot);
  return ".bin";
}

}  // namespace varg::client
