#include "common/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "common/sandbox.h"

namespace varg {

std::optional<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? std::optional(name) : std::nullopt;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string candidate = p.substr(start, end - start) + "/" + name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

Result<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& argv, const ChildLimits& limits,
                                         const std::string& cwd) {
  if (argv.empty()) return error(Code::internal, "empty command");
  auto exe = find_program(argv[0]);
  if (!exe) return error(Code::unavailable, argv[0] + " is not installed (run scripts/setup)");
  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return error(Code::internal, "pipe failed");
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]), ::close(in[1]);
    return error(Code::internal, "pipe failed");
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
    return error(Code::internal, "pipe failed");
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) ::close(fd);
    return error(Code::internal, "fork failed");
  }
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::close_range(3, ~0U, 0);
    ::signal(SIGPIPE, SIG_DFL);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    if (limits.isolate_network) ::unshare(CLONE_NEWUSER | CLONE_NEWNET);  // on top of the filter's "no sockets"
    auto limit = [](int resource, int64_t value) {
      const rlimit r{rlim_t(value), rlim_t(value)};
      ::setrlimit(resource, &r);
    };
    if (limits.cpu_seconds > 0) {
      const rlimit r{rlim_t(limits.cpu_seconds), rlim_t(limits.cpu_seconds + 1)};
      ::setrlimit(RLIMIT_CPU, &r);
    }
    if (limits.memory_mb > 0) limit(RLIMIT_DATA, limits.memory_mb << 20);
    if (limits.max_files > 0) limit(RLIMIT_NOFILE, limits.max_files);
    if (limits.max_file_mb >= 0) limit(RLIMIT_FSIZE, limits.max_file_mb << 20);
    limit(RLIMIT_CORE, 0);
    if (!limits.files_dir.empty()) sandbox::confine_files(limits.files_dir.c_str());
    if (const int e = sandbox::confine(); e != 0 && limits.require_confinement) {
      static const char kMsg[] = "varg-sandbox: cannot confine this process\n";
      (void)!::write(2, kMsg, sizeof kMsg - 1);
      ::_exit(kUnconfinedExit);
    }
    ::execve(exe->c_str(), args.data(), sandbox::minimal_environ());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  ChildProcess c;
  c.pid_ = pid;
  c.in_ = in[1];
  c.out_ = out[0];
  c.err_ = err[0];
  return c;
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(o.pid_), in_(o.in_), out_(o.out_), err_(o.err_), reaped_(o.reaped_), status_(o.status_) {
  o.pid_ = -1;
  o.in_ = o.out_ = o.err_ = -1;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped_) {
    kill();
    wait();
  }
  for (int fd : {in_, out_, err_})
    if (fd >= 0) ::close(fd);
}

void ChildProcess::close_in() {
  if (in_ >= 0) ::close(in_);
  in_ = -1;
}

void ChildProcess::kill() {
  if (pid_ > 0 && !reaped_) {
    ::kill(-pid_, SIGKILL);  // its process group: nothing it started survives
    ::kill(pid_, SIGKILL);
  }
}

int ChildProcess::wait() {
  if (pid_ <= 0 || reaped_) return status_;
  while (::waitpid(pid_, &status_, 0) < 0) {
    if (errno != EINTR) {
      status_ = -1;
      break;
    }
  }
  reaped_ = true;
  return status_;
}

bool ChildProcess::try_wait(int& status) {
  if (reaped_) {
    status = status_;
    return true;
  }
  pid_t r = ::waitpid(pid_, &status_, WNOHANG);
  if (r == pid_ || (r < 0 && errno != EINTR)) {
    reaped_ = true;
    status = status_;
    return true;
  }
  return false;
}

bool Captured::exited_ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

bool unconfined(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == kUnconfinedExit; }

bool write_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += size_t(n);
  }
  return true;
}

Result<Captured> run_captured(const std::vector<std::string>& argv, const std::string& input,
                              std::chrono::steady_clock::time_point deadline, const std::atomic<bool>* cancelled,
                              const ChildLimits& limits, const std::string& cwd, size_t max_output) {
  auto child = ChildProcess::spawn(argv, limits, cwd);
  if (!child.ok()) return child.status();
  Captured cap;
  size_t written = 0;
  if (input.empty()) child->close_in();
  ::fcntl(child->in(), F_SETFL, O_NONBLOCK);
  int open_fds = 2;
  bool out_open = true, err_open = true;
  char buf[65536];
  while (open_fds > 0) {
    if ((cancelled && cancelled->load()) || std::chrono::steady_clock::now() > deadline) {
      child->kill();
      child->wait();
      return error(cancelled && cancelled->load() ? Code::unavailable : Code::timeout,
                   argv[0] + (cancelled && cancelled->load() ? " was cancelled" : " took too long"));
    }
    pollfd p[3];
    int n = 0;
    if (out_open) p[n++] = {child->out(), POLLIN, 0};
    if (err_open) p[n++] = {child->err(), POLLIN, 0};
    const bool want_write = child->in() >= 0 && written < input.size();
    if (want_write) p[n++] = {child->in(), POLLOUT, 0};
    int r = ::poll(p, nfds_t(n), 100);
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < n && r > 0; i++) {
      if (!p[i].revents) continue;
      if (p[i].fd == child->in()) {
        ssize_t w = ::write(child->in(), input.data() + written, input.size() - written);
        if (w > 0) written += size_t(w);
        if (w < 0 && errno != EAGAIN && errno != EINTR) written = input.size();
        if (written >= input.size()) child->close_in();
        continue;
      }
      ssize_t got = ::read(p[i].fd, buf, sizeof buf);
      if (got > 0) {
        std::string& dst = p[i].fd == child->out() ? cap.out : cap.err;
        if (dst.size() < max_output) dst.append(buf, size_t(got));
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        if (p[i].fd == child->out()) out_open = false;
        else err_open = false;
        open_fds--;
      }
    }
  }
  child->close_in();
  // Exited streams: wait for the exit itself, still under the deadline.
  while (!child->try_wait(cap.status)) {
    if ((cancelled && cancelled->load()) || std::chrono::steady_clock::now() > deadline) {
      child->kill();
      child->wait();
      return error(Code::timeout, argv[0] + " took too long");
    }
    ::usleep(5000);
  }
  if (unconfined(cap.status))
    return error(Code::unavailable, argv[0] + " could not be sandboxed on this host (seccomp); see --render-sandbox in docs/render.md");
  return cap;
}

}  // namespace varg
