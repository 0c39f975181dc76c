#include "vargd_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

extern char** environ;

namespace varg::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path vargd_binary() {
  if (const char* env = std::getenv("VARGD_TEST_BINARY")) return env;
  return VARGD_BINARY;
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string find_key(const std::string& text) {
  static const std::regex re("varg_[0-9A-Za-z]{38}");
  std::smatch m;
  return std::regex_search(text, m, re) ? m.str() : "";
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "varg-it-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (::testing::Test::HasFailure()) {
    std::cerr << "[ keeping " << path_ << " for inspection ]\n";
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

pid_t spawn(const fs::path& dir, const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
  // Everything the child needs is prepared before fork(): after it, only async-signal-safe calls.
  std::vector<std::string> argv_s = {vargd_binary().string()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The tests' own environment must not configure vargd: drop every VARGD_* variable.
  std::vector<std::string> env_s;
  for (char** e = environ; *e; e++)
    if (std::strncmp(*e, "VARGD_", 6) != 0) env_s.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string dir_s = dir.string(), out_s = out.string(), err_s = err.string();

  pid_t pid = fork();
  if (pid != 0) return pid;
  if (chdir(dir_s.c_str()) != 0) _exit(126);
  int devnull = open("/dev/null", O_RDONLY);
  int o = open(out_s.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  int e = open(err_s.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (devnull < 0 || o < 0 || e < 0) _exit(126);
  dup2(devnull, 0);
  dup2(o, 1);
  dup2(e, 2);
  execve(argv[0], argv.data(), envp.data());
  _exit(127);
}

namespace {

std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout, int* term_signal) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (term_signal && WIFSIGNALED(status)) *term_signal = WTERMSIG(status);
      return std::nullopt;
    }
    if (r < 0) return std::nullopt;
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

std::atomic<int> counter{0};

}  // namespace

RunResult run_vargd(const fs::path& dir, const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  const std::string tag = std::to_string(counter++);
  const fs::path out = dir / ("run-" + tag + ".out"), err = dir / ("run-" + tag + ".err");
  pid_t pid = spawn(dir, args, out, err);
  RunResult r;
  auto code = wait_for(pid, timeout, nullptr);
  if (!code) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  r.exit_code = code.value_or(-1);
  r.out = read_file(out);
  r.err = read_file(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

Vargd::Vargd(const fs::path& dir, std::vector<std::string> extra) : dir_(dir), tag_(std::to_string(counter++)) {
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--threads", "2", "--workers", "4"};
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = spawn(dir_, args, dir_ / ("vargd-" + tag_ + ".out"), dir_ / ("vargd-" + tag_ + ".err"));
  static const std::regex first("^vargd listening on http://127\\.0\\.0\\.1:([0-9]+) \\(database [^)]*\\)");
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string o = out();
    auto nl = o.find('\n');
    if (nl != std::string::npos) {
      first_line_ = o.substr(0, nl);
      std::smatch m;
      if (std::regex_search(first_line_, m, first)) {
        port_ = std::stoi(m[1].str());
      } else {
        error_ = "unexpected first line: " + first_line_;
      }
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "vargd exited before listening; stderr:\n" + err();
      return;
    }
    std::this_thread::sleep_for(10ms);
  }
  error_ = "vargd printed no first line within 30 s; stderr:\n" + err();
}

Vargd::~Vargd() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void Vargd::signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

std::optional<int> Vargd::wait(std::chrono::milliseconds timeout, int* term_signal) {
  if (pid_ <= 0) return std::nullopt;
  int sig = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      if (term_signal) *term_signal = sig;
      return std::nullopt;
    }
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

bool Vargd::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string Vargd::out() const { return read_file(dir_ / ("vargd-" + tag_ + ".out")); }
std::string Vargd::err() const { return read_file(dir_ / ("vargd-" + tag_ + ".err")); }

std::string Vargd::create_user(const std::string& email, int64_t credits) {
  RunResult r = run_vargd(dir_, {"admin", "create-user", "--email", email, "--credits", std::to_string(credits)});
  EXPECT_EQ(r.exit_code, 0) << "vargd admin create-user failed:\n" << r.out << r.err;
  std::string key = find_key(r.out);
  EXPECT_FALSE(key.empty()) << "no key in create-user output:\n" << r.out;
  return key;
}

}  // namespace varg::test
