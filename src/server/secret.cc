#include "server/secret.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
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

std::string normalize_email(const std::string& raw) {
  size_t a = raw.find_first_not_of(" \t"), b = raw.find_last_not_of(" \t");
  if (a == std::string::npos) return {};
  std::string e = raw.substr(a, b - a + 1);
  for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto at = e.find('@');
  if (e.size() > 254 || at == std::string::npos || at == 0 || e.find('@', at + 1) != std::string::npos) return {};
  std::string domain = e.substr(at + 1);
  auto dot = domain.find('.');
  if (dot == std::string::npos || dot == 0 || domain.back() == '.' || domain.find("..") != std::string::npos) return {};
  for (char c : e)
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)) || c == '<' || c == '>' ||
        c == ',' || c == ';' || c == '"')
      return {};
  return e;
}

}  // namespace varg
