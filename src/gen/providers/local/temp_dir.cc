#include "gen/providers/local/temp_dir.h"

#include <stdlib.h>

#include <string>

namespace varg::local {

Result<TempDir> TempDir::create(const char* prefix) {
  std::error_code ec;
  const auto base = std::filesystem::temp_directory_path(ec);
  if (ec) return error(Code::internal, "no temporary directory: " + ec.message());
  std::string tmpl = (base / (std::string(prefix) + "-XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) return error(Code::internal, "cannot create a temporary directory in " + base.string());
  return TempDir(std::filesystem::path(tmpl));
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;  // best effort: a leftover temp dir must not fail the request
  std::filesystem::remove_all(path_, ec);
}

}  // namespace varg::local
