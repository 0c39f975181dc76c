// Drives the real binaries for the CLI tests: a vargd on 127.0.0.1:0 in a temp dir, and varg runs
// with a chosen environment, working directory and stdin, their output and exit status captured.
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace varg::test {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct Outcome {
  int exit_code = -1;
  std::string out, err;
  std::string describe() const;  // for failure messages
};

// Runs `program args...` in `cwd` with exactly `env` (nothing inherited), feeding `input` on stdin.
Outcome run_program(const std::string& program, const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env, const fs::path& cwd, const std::string& input = "");

// A running program fed on stdin step by step, for interactive flows (prompts, then answers that
// depend on what happened meanwhile, like a code arriving in the outbox).
class Session {
 public:
  Session(const std::string& program, const std::vector<std::string>& args,
          const std::map<std::string, std::string>& env, const fs::path& cwd);
  ~Session();
  void send(const std::string& text);
  // Reads stderr until it contains `text` (counted from the start) or the timeout passes.
  bool wait_for_stderr(const std::string& text, int occurrences = 1, int timeout_ms = 10'000);
  Outcome finish();  // closes stdin, collects the rest and the exit status

 private:
  void pump(int timeout_ms);
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  Outcome result_;
};

class Vargd {
 public:
  // Starts vargd with `dir` as its working directory (its data lands in dir/data).
  explicit Vargd(const fs::path& dir);
  ~Vargd();
  const std::string& url() const { return url_; }
  const fs::path& dir() const { return dir_; }
  // `vargd admin create-user` in the same directory; returns the new account's API key.
  std::string create_user(const std::string& email, int credits);
  Outcome admin(const std::vector<std::string>& args);

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  std::string url_;
};

// A varg invocation's surroundings: HOME, the working directory and the environment.
struct VargEnv {
  fs::path home, cwd;
  std::map<std::string, std::string> vars;  // VARG_GATEWAY_URL and friends
  Outcome operator()(const std::vector<std::string>& args, const std::string& input = "") const;
  std::unique_ptr<Session> start(const std::vector<std::string>& args) const;
};

}  // namespace varg::test
