// Writing a file so that it is either whole or absent: a temp file beside it (O_EXCL), written,
// fsynced, renamed over the name, and the directory fsynced. A full disk (ENOSPC, EDQUOT) is
// insufficient_storage with a Retry-After; the temp file never stays behind.
#pragma once
#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace varg {

Status write_file_atomically(const std::string& path, std::string_view bytes, mode_t mode);

}  // namespace varg
