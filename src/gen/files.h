// Result and upload files: content-addressed bytes in the BlobStore, an unguessable public id
// derived from the content hash with the server secret, served at {public-url}/files/{id}.{ext}.
#pragma once
#include <map>
#include <mutex>
#include <string>

#include "auth/api_key.h"
#include "common/clock.h"
#include "gen/blob_store.h"
#include "store/store.h"

namespace varg {

std::string ext_for(const std::string& media_type);
std::string media_type_for_ext(const std::string& ext);

class Files {
 public:
  // Files are served at {files_url}/{id}.{ext}; files_url defaults to {public_url}/files (the
  // production setting is another origin, so that no file shares the dashboard's cookies).
  Files(Store& store, BlobStore& blobs, const SecretHasher& hasher, const Clock& clock, std::string public_url,
        std::string files_url = "")
      : store_(store), blobs_(blobs), hasher_(hasher), clock_(clock), public_url_(std::move(public_url)),
        files_url_(files_url.empty() ? public_url_ + "/files" : std::move(files_url)) {}

  // Stores bytes (once per content); *existed tells whether the same bytes were already here.
  // The media type is what the bytes are (sniff_media_type), whatever the caller claims.
  Result<FileRecord> put(const std::string& bytes, bool* existed);
  // The blob stored and its record made, but not written: the caller writes it in its own
  // transaction (a job's result, with the job's completion: Store::Transition::file).
  Result<FileRecord> stage(const std::string& bytes);
  Result<std::string> bytes(const FileRecord& f) { return blobs_.get(f.hash); }
  Result<int> open(const FileRecord& f) { return blobs_.open(f.hash); }  // an fd the caller closes
  std::string url(const FileRecord& f) const { return files_url_ + "/" + f.id + "." + f.ext; }
  std::string url(const std::string& id, const std::string& media_type) const {
    return files_url_ + "/" + id + "." + ext_for(media_type);
  }
  // One of our own file URLs ({files-url}/{id}.{ext} or {public-url}/files/...) → its record.
  Result<FileRecord> resolve(const std::string& url);
  // "{id}.{ext}" from a /files/ path → its record.
  Result<FileRecord> by_name(const std::string& name);
  const std::string& public_url() const { return public_url_; }

 private:
  Store& store_;
  BlobStore& blobs_;
  const SecretHasher& hasher_;
  const Clock& clock_;
  std::string public_url_;
  std::string files_url_;
  // File records are immutable (content-addressed, never rewritten): the ones served recently are
  // kept, so a result GET reads no database row. Whatever deletes files must drop them here too.
  static constexpr size_t kKnown = 4096;
  std::mutex mu_;
  std::map<std::string, FileRecord> known_;
};

}  // namespace varg
