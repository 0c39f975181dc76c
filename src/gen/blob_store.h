// Content-addressed storage of result and upload bytes (SHA-256). Local disk by default.
#pragma once
#include <optional>
#include <string>

#include "common/status.h"

namespace varg {

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Stores bytes under their hash (hex); storing the same bytes twice is a no-op.
  virtual Status put(const std::string& hash, const std::string& bytes) = 0;
  virtual Result<std::string> get(const std::string& hash) = 0;
  // An open read-only descriptor of the blob, for sendfile(2) (the caller closes it); unavailable
  // for a store that is not a local file system.
  virtual Result<int> open(const std::string& /*hash*/) { return error(Code::unavailable, "not a local blob"); }
};

// <dir>/ab/cd/<hash>: written atomically (common/atomic_file.h), so a crash or a full disk never
// leaves a torn blob.
class LocalBlobStore final : public BlobStore {
 public:
  explicit LocalBlobStore(std::string dir) : dir_(std::move(dir)) {}
  Status put(const std::string& hash, const std::string& bytes) override;
  Result<std::string> get(const std::string& hash) override;
  Result<int> open(const std::string& hash) override;

 private:
  std::string path_of(const std::string& hash) const;
  std::string dir_;
};

}  // namespace varg
