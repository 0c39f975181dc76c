// A private temporary directory removed with everything in it when it goes out of scope.
#pragma once
#include <filesystem>

#include "common/status.h"

namespace varg::local {

class TempDir {
 public:
  static Result<TempDir> create(const char* prefix);
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit TempDir(std::filesystem::path p) : path_(std::move(p)) {}
  std::filesystem::path path_;
};

}  // namespace varg::local
