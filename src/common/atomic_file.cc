#include "common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/crypto.h"

namespace varg {

namespace {
Status write_error(int err) {
  if (err == ENOSPC || err == EDQUOT)
    return retry_later(Code::insufficient_storage, "The disk is full; nothing was written, retry later", 30);
  return error(Code::internal, std::string("cannot write a file: ") + std::strerror(err));
}
}  // namespace

Status write_file_atomically(const std::string& path, std::string_view bytes, mode_t mode) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  const std::string tmp = dir + "/." + path.substr(slash + 1) + ".tmp-" + random_base62(8);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return write_error(errno);
  int err = 0;
  for (size_t off = 0; off < bytes.size() && !err;) {
    const ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n > 0) off += size_t(n);
    else if (n < 0 && errno == EINTR) continue;
    else err = n < 0 ? errno : ENOSPC;
  }
  if (!err && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && !err) err = errno;
  if (!err && std::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err) {
    ::unlink(tmp.c_str());
    return write_error(err);
  }
  if (const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {  // the rename itself
    ::fsync(d);
    ::close(d);
  }
  return Status::Ok();
}

}  // namespace varg
