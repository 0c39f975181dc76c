// The CLI's ~/.varg/credentials reader on arbitrary file contents (mode 0600, as it requires).
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "varg/credentials.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = [] {
    char dir[] = "/tmp/varg-fuzz-credentials-XXXXXX";
    return std::string(::mkdtemp(dir)) + "/credentials";
  }();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  for (size_t off = 0; off < size;) {
    const ssize_t n = ::write(fd, data + off, size - off);
    if (n <= 0) break;
    off += size_t(n);
  }
  ::close(fd);
  auto c = varg::client::read_credentials_file(path);
  if (c.ok() && c->api_key.empty()) __builtin_trap();  // a file without a key is refused
  return 0;
}
