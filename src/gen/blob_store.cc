#include "gen/blob_store.h"

#include <fcntl.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/atomic_file.h"

namespace varg {

std::string LocalBlobStore::path_of(const std::string& hash) const {
  return dir_ + "/" + hash.substr(0, 2) + "/" + hash.substr(2, 2) + "/" + hash;
}

Status LocalBlobStore::put(const std::string& hash, const std::string& bytes) {
  if (hash.size() != 64) return error(Code::internal, "blob hash must be sha256 hex");
  const std::string path = path_of(hash);
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return Status::Ok();
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  return write_file_atomically(path, bytes, 0644);
}

Result<std::string> LocalBlobStore::get(const std::string& hash) {
  if (hash.size() != 64) return error(Code::not_found, "No such file");
  std::ifstream in(path_of(hash), std::ios::binary);
  if (!in) return error(Code::not_found, "No such file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<int> LocalBlobStore::open(const std::string& hash) {
  if (hash.size() != 64) return error(Code::not_found, "No such file");
  int fd = ::open(path_of(hash).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return error(Code::not_found, "No such file");
  return fd;
}

}  // namespace varg
