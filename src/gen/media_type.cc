#include "gen/media_type.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "common/json.h"

namespace varg {

namespace {

bool at(std::string_view b, size_t off, std::string_view magic) { return b.size() >= off + magic.size() && b.substr(off, magic.size()) == magic; }

const char* const kInline[] = {"image/png", "image/jpeg", "image/gif",  "image/webp", "audio/wav",        "audio/mpeg",
                               "audio/ogg", "audio/flac", "audio/mp4",  "video/mp4",  "video/quicktime", "video/webm",
                               "application/json"};

// A JSON object or array within the request-body bounds (accept() builds nothing).
bool is_json(std::string_view b) {
  const size_t i = b.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos || (b[i] != '{' && b[i] != '[')) return false;
  return check_json_bounds(b, {64, size_t(-1)}).ok() && nlohmann::json::accept(b);
}

}  // namespace

std::string sniff_media_type(std::string_view b) {
  if (at(b, 0, "\x89PNG\r\n\x1a\n")) return "image/png";
  if (at(b, 0, "\xff\xd8\xff")) return "image/jpeg";
  if (at(b, 0, "GIF87a") || at(b, 0, "GIF89a")) return "image/gif";
  if (at(b, 0, "RIFF") && at(b, 8, "WEBP")) return "image/webp";
  if (at(b, 0, "RIFF") && at(b, 8, "WAVE")) return "audio/wav";
  if (at(b, 0, "ID3") || (b.size() >= 2 && uint8_t(b[0]) == 0xff && (uint8_t(b[1]) & 0xe0) == 0xe0)) return "audio/mpeg";
  if (at(b, 0, "OggS")) return "audio/ogg";
  if (at(b, 0, "fLaC")) return "audio/flac";
  if (at(b, 4, "ftyp")) {
    if (at(b, 8, "M4A ") || at(b, 8, "M4B ")) return "audio/mp4";
    if (at(b, 8, "qt  ")) return "video/quicktime";
    return "video/mp4";
  }
  if (at(b, 0, "\x1a\x45\xdf\xa3")) return "video/webm";
  if (is_json(b)) return "application/json";
  return "application/octet-stream";
}

bool servable_inline(std::string_view media_type) {
  for (const char* t : kInline)
    if (media_type == t) return true;
  return false;
}

std::string media_type_for_extension(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const size_t slash = url.rfind('/'), dot = url.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return "";
  std::string ext(url.substr(dot + 1));
  for (auto& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  static const std::pair<const char*, const char*> known[] = {
      {"png", "image/png"},   {"jpg", "image/jpeg"},  {"jpeg", "image/jpeg"}, {"webp", "image/webp"}, {"gif", "image/gif"},
      {"mp4", "video/mp4"},   {"mov", "video/quicktime"}, {"webm", "video/webm"}, {"mkv", "video/x-matroska"},
      {"mp3", "audio/mpeg"},  {"wav", "audio/wav"},   {"ogg", "audio/ogg"},   {"m4a", "audio/mp4"},  {"flac", "audio/flac"}};
  for (auto& [e, type] : known)
    if (ext == e) return type;
  return "";
}

}  // namespace varg
