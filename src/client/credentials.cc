#include "varg/credentials.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace varg::client {
namespace fs = std::filesystem;

namespace {

fs::path home() {
  if (const char* h = std::getenv("HOME"); h && *h) return h;
  if (const passwd* pw = getpwuid(getuid())) return pw->pw_dir;
  return ".";
}

std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return local_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string string_field(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Writes all of data to fd, retrying short writes.
bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

Result<void> ensure_private_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return local_error("cannot create " + dir.string() + ": " + std::strerror(errno));
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return local_error(dir.string() + " is not a directory");
  if ((st.st_mode & 0777) != 0700 && ::chmod(dir.c_str(), 0700) != 0)
    return local_error("cannot make " + dir.string() + " private (chmod 700): " + std::strerror(errno));
  return {};
}

}  // namespace

fs::path credentials_path() { return home() / ".varg" / "credentials"; }

Result<Credentials> read_credentials_file(const fs::path& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0)
    return local_error("not logged in: run `varg login` or set VARG_API_KEY (no " + path.string() + ")");
  if (st.st_mode & 077)
    return local_error(path.string() + " can be read or changed by other users; refusing to use it. Fix it with: chmod 600 " +
                       path.string());
  auto text = read_file(path);
  if (!text.ok()) return text.error();
  const auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return local_error(path.string() + " is corrupt (not a JSON object); run `varg login` to write it again");
  Credentials c;
  c.api_key = string_field(j, "api_key");
  c.email = string_field(j, "email");
  c.created_at = string_field(j, "created_at");
  c.source = CredentialSource::file;
  c.origin = path;
  if (c.api_key.empty())
    return local_error(path.string() + " has no api_key; run `varg login` to write it again");
  return c;
}

Result<Credentials> find_credentials() {
  if (const char* k = std::getenv("VARG_API_KEY"); k && *k) {
    Credentials c;
    c.api_key = k;
    c.source = CredentialSource::environment;
    return c;
  }
  const fs::path dotenv = fs::current_path() / ".env";
  if (auto text = read_file(dotenv); text.ok()) {
    auto vars = parse_dotenv(*text);
    if (auto it = vars.find("VARG_API_KEY"); it != vars.end() && !it->second.empty()) {
      Credentials c;
      c.api_key = it->second;
      c.source = CredentialSource::dotenv;
      c.origin = dotenv;
      return c;
    }
  }
  return read_credentials_file(credentials_path());
}

Result<void> save_credentials(const Credentials& creds) {
  const fs::path path = credentials_path();
  const fs::path dir = path.parent_path();
  if (auto ok = ensure_private_dir(dir); !ok) return ok;

  nlohmann::json j = {{"api_key", creds.api_key},
                      {"email", creds.email.empty() ? nlohmann::json(nullptr) : nlohmann::json(creds.email)},
                      {"created_at", creds.created_at.empty() ? now_iso8601() : creds.created_at}};
  std::string tmp = (dir / ".credentials.XXXXXX").string();
  const int fd = ::mkstemp(tmp.data());  // mode 0600
  if (fd < 0) return local_error("cannot write in " + dir.string() + ": " + std::strerror(errno));
  const bool written = ::fchmod(fd, 0600) == 0 && write_all(fd, j.dump(2) + "\n") && ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  if (!written || !closed || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return local_error("cannot write " + path.string() + ": " + why);
  }
  // The rename is durable only once the directory entry is on disk.
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Result<bool> remove_credentials() {
  const fs::path path = credentials_path();
  if (::unlink(path.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  return local_error("cannot remove " + path.string() + ": " + std::strerror(errno));
}

}  // namespace varg::client
