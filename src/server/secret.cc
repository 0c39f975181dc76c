#include "server/secret.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "common/crypto.h"

namespace varg {

Result<ServerSecret> load_secret(const std::string& hex_setting, const std::string& data_dir) {
  std::string hex = hex_setting;
  if (hex.empty()) {
    const std::string path = data_dir + "/server.secret";
    std::ifstream in(path);
    if (in) {
      std::getline(in, hex);
    } else {
      hex = to_hex(random_bytes(32));
      // O_EXCL: two processes starting at once cannot both write a different secret.
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
      if (fd >= 0) {
        std::string line = hex + "\n";
        bool ok = ::write(fd, line.data(), line.size()) == ssize_t(line.size()) && ::fsync(fd) == 0;
        ::close(fd);
        if (!ok) return error(Code::internal, "cannot write " + path);
      } else {
        std::ifstream again(path);
        if (!again || !std::getline(again, hex)) return error(Code::internal, "cannot create " + path);
      }
    }
  }
  auto raw = from_hex(hex);
  if (!raw || raw->size() != 32) return error(Code::invalid, "the server secret must be 64 hex characters", "secret");
  return ServerSecret{hmac_sha256(*raw, "varg pepper v1"), hmac_sha256(*raw, "varg provider keys v1")};
}

}  // namespace varg
