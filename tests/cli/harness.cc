#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <regex>
#include <stdexcept>

namespace varg::test {
namespace {

constexpr int kRunTimeoutMs = 60'000;

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() / ("varg-cli-test-" + std::to_string(rd()) + std::to_string(::getpid()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string Outcome::describe() const {
  return "exit " + std::to_string(exit_code) + "\n--- stdout:\n" + out + "--- stderr:\n" + err;
}

Session::Session(const std::string& program, const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env, const fs::path& cwd) {
  int in[2], out[2], err[2];
  if (pipe(in) || pipe(out) || pipe(err)) throw std::runtime_error("pipe failed");
  std::vector<std::string> argv{program};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> envp;
  for (const auto& [k, v] : env) envp.push_back(k + "=" + v);
  auto c_argv = c_strings(argv);
  auto c_envp = c_strings(envp);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    execve(program.c_str(), c_argv.data(), c_envp.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  in_ = in[1];
  out_ = out[0];
  err_ = err[0];
  signal(SIGPIPE, SIG_IGN);
}

Session::~Session() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    finish();
  }
}

void Session::send(const std::string& text) { (void)!write(in_, text.data(), text.size()); }

void Session::pump(int timeout_ms) {
  pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
  std::string* sinks[2] = {&result_.out, &result_.err};
  if (poll(fds, 2, timeout_ms) <= 0) return;
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
    char buf[4096];
    const ssize_t n = read(fds[i].fd, buf, sizeof buf);
    if (n > 0) {
      sinks[i]->append(buf, static_cast<size_t>(n));
    } else {
      close(fds[i].fd);
      (i == 0 ? out_ : err_) = -1;
    }
  }
}

bool Session::wait_for_stderr(const std::string& text, int occurrences, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto count = [&] {
    int n = 0;
    for (size_t at = result_.err.find(text); at != std::string::npos; at = result_.err.find(text, at + 1)) ++n;
    return n;
  };
  while (count() < occurrences) {
    if (std::chrono::steady_clock::now() >= deadline || (out_ < 0 && err_ < 0)) return false;
    pump(100);
  }
  return true;
}

Outcome Session::finish() {
  if (in_ >= 0) close(in_);
  in_ = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kRunTimeoutMs);
  while ((out_ >= 0 || err_ >= 0) && std::chrono::steady_clock::now() < deadline) pump(200);
  if (out_ >= 0 || err_ >= 0) kill(pid_, SIGKILL);
  for (int* fd : {&out_, &err_})
    if (*fd >= 0) close(*fd), *fd = -1;
  int status = 0;
  if (pid_ > 0) waitpid(pid_, &status, 0);
  pid_ = -1;
  result_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result_;
}

Outcome run_program(const std::string& program, const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env, const fs::path& cwd, const std::string& input) {
  Session session(program, args, env, cwd);
  session.send(input);
  return session.finish();
}

Vargd::Vargd(const fs::path& dir) : dir_(dir) {
  const std::string out = (dir / "vargd.out").string(), log = (dir / "vargd.log").string();
  pid_ = fork();
  if (pid_ == 0) {
    dup2(open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
    dup2(open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
    if (chdir(dir_.c_str()) != 0) _exit(126);
    execl(VARGD_BINARY, VARGD_BINARY, "--listen", "127.0.0.1:0", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Its first stdout line: "vargd listening on http://127.0.0.1:PORT ..."
  const std::regex address(R"(listening on (http://127\.0\.0\.1:\d+))");
  for (int i = 0; i < 200 && url_.empty(); ++i) {
    std::ifstream in(out);
    std::string line;
    std::smatch m;
    if (std::getline(in, line) && std::regex_search(line, m, address)) url_ = m.str(1);
    else usleep(50'000);
  }
  if (url_.empty()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    throw std::runtime_error("vargd did not start; see " + log);
  }
}

Vargd::~Vargd() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status;
    waitpid(pid_, &status, 0);
  }
}

Outcome Vargd::admin(const std::vector<std::string>& args) {
  std::vector<std::string> all{"admin"};
  all.insert(all.end(), args.begin(), args.end());
  return run_program(VARGD_BINARY, all, {{"PATH", "/usr/bin:/bin"}}, dir_);
}

std::string Vargd::create_user(const std::string& email, int credits) {
  Outcome r = admin({"create-user", "--email", email, "--credits", std::to_string(credits)});
  std::smatch m;
  if (!std::regex_search(r.out, m, std::regex(R"(varg_[0-9A-Za-z]{38})")))
    throw std::runtime_error("create-user gave no key: " + r.describe());
  return m.str(0);
}

Outcome VargEnv::operator()(const std::vector<std::string>& args, const std::string& input) const {
  std::map<std::string, std::string> env = vars;
  env["HOME"] = home.string();
  env.emplace("PATH", "/usr/bin:/bin");
  return run_program(VARG_BINARY, args, env, cwd, input);
}

std::unique_ptr<Session> VargEnv::start(const std::vector<std::string>& args) const {
  std::map<std::string, std::string> env = vars;
  env["HOME"] = home.string();
  env.emplace("PATH", "/usr/bin:/bin");
  return std::make_unique<Session>(VARG_BINARY, args, env, cwd);
}

}  // namespace varg::test
