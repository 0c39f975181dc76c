// Runs the real vargd binary for integration tests: in a fresh temp dir as its working directory
// (so its data lands in ./data), on 127.0.0.1:0, with stdout and stderr captured to files.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace varg::test {

std::filesystem::path vargd_binary();

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out, err;
};

class TempDir {
 public:
  TempDir();
  ~TempDir();  // removed unless the test failed (then its path is printed)
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Runs `vargd args...` in `dir` to completion (e.g. admin commands, --help).
RunResult run_vargd(const std::filesystem::path& dir, const std::vector<std::string>& args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

class Vargd {
 public:
  // Starts `vargd --listen 127.0.0.1:0 extra...` in `dir` and waits for its first line.
  Vargd(const std::filesystem::path& dir, std::vector<std::string> extra = {});
  ~Vargd();  // SIGKILL if still running
  Vargd(const Vargd&) = delete;
  Vargd& operator=(const Vargd&) = delete;

  bool started() const { return port_ > 0; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& first_line() const { return first_line_; }
  std::string start_error() const { return error_; }

  void signal(int sig);
  // Waits for the process to exit; its exit code, or nullopt on timeout / death by signal.
  std::optional<int> wait(std::chrono::milliseconds timeout, int* term_signal = nullptr);
  bool running();
  std::string out() const;  // stdout so far
  std::string err() const;  // stderr so far: the JSON access log

  // A user with `credits`, created with `vargd admin create-user`; returns its key.
  std::string create_user(const std::string& email, int64_t credits);

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string first_line_, error_;
  std::string tag_;
};

// Spawns `binary args` in `dir` with stdout/stderr redirected to the given files. Returns the pid.
pid_t spawn(const std::filesystem::path& dir, const std::vector<std::string>& args, const std::filesystem::path& out,
            const std::filesystem::path& err);

std::string read_file(const std::filesystem::path& p);
// The first "varg_..." key in text, or "".
std::string find_key(const std::string& text);

}  // namespace varg::test
