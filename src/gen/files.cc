#include "gen/files.h"

#include "common/crypto.h"
#include "gen/media_type.h"

namespace varg {

namespace {
const std::pair<const char*, const char*> kTypes[] = {
    {"image/png", "png"},   {"image/jpeg", "jpg"},  {"image/webp", "webp"}, {"image/gif", "gif"},
    {"audio/wav", "wav"},   {"audio/x-wav", "wav"}, {"audio/mpeg", "mp3"},  {"audio/ogg", "ogg"},
    {"audio/mp4", "m4a"},   {"audio/flac", "flac"}, {"video/mp4", "mp4"},   {"video/webm", "webm"},
    {"video/quicktime", "mov"}, {"text/plain", "txt"}, {"application/json", "json"},
};
}  // namespace

std::string ext_for(const std::string& media_type) {
  std::string mt = media_type.substr(0, media_type.find(';'));
  for (auto& [t, e] : kTypes)
    if (mt == t) return e;
  return "bin";
}

std::string media_type_for_ext(const std::string& ext) {
  for (auto& [t, e] : kTypes)
    if (ext == e) return t;
  return "application/octet-stream";
}

Result<FileRecord> Files::put(const std::string& bytes, bool* existed) {
  auto f = stage(bytes);
  if (!f.ok()) return f;
  return store_.insert_file(*f, existed);
}

Result<FileRecord> Files::stage(const std::string& bytes) {
  FileRecord f;
  f.hash = to_hex(sha256(bytes));
  // Unguessable without the server secret, yet stable: the same bytes always get the same id.
  std::string mac = hasher_.hash("file:" + f.hash);
  f.id = "file_";
  for (size_t i = 0; i < 24; i++) f.id.push_back(kBase62[static_cast<unsigned char>(mac[i]) % 62]);
  f.size = int64_t(bytes.size());
  f.media_type = sniff_media_type(bytes);
  f.ext = ext_for(f.media_type);
  f.created_at = clock_.now();
  VARG_TRY(blobs_.put(f.hash, bytes));
  return f;
}

Result<FileRecord> Files::by_name(const std::string& name) {
  auto dot = name.rfind('.');
  std::string id = name.substr(0, dot);
  if (id.size() > 64 || !id.starts_with("file_")) return error(Code::not_found, "No such file");
  Result<FileRecord> f = error(Code::not_found, "No such file");
  {
    std::lock_guard lk(mu_);
    if (auto it = known_.find(id); it != known_.end()) f = it->second;
  }
  if (!f.ok()) {
    f = store_.file(id);
    if (!f.ok()) return f;
    std::lock_guard lk(mu_);
    if (known_.size() >= kKnown) known_.clear();
    known_[id] = *f;
  }
  if (dot != std::string::npos && name.substr(dot + 1) != f->ext) return error(Code::not_found, "No such file");
  return f;
}

Result<FileRecord> Files::resolve(const std::string& url) {
  for (const std::string& base : {files_url_ + "/", public_url_ + "/files/"})
    if (url.starts_with(base)) return by_name(url.substr(base.size()));
  return error(Code::not_found, "Not one of this gateway's files");
}

}  // namespace varg
