// Child processes without a shell: argv vectors, pipes for stdin/stdout/stderr, resource limits,
// an optional network-less user namespace, a deadline and a cancel flag. The child never
// outlives its owner.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace varg {

// Every child runs with sandbox::minimal_environ() and, unless confinement is optional and fails,
// under sandbox::confine().
struct ChildLimits {
  int cpu_seconds = 0;          // RLIMIT_CPU; 0: none
  int64_t memory_mb = 0;        // RLIMIT_DATA (heap, mmap and ArrayBuffers; not mere reservations); 0: none
  int max_files = 0;            // RLIMIT_NOFILE; 0: inherit
  int64_t max_file_mb = -1;     // RLIMIT_FSIZE; 0: writes no file; -1: inherit
  bool isolate_network = false;   // unshare(CLONE_NEWUSER | CLONE_NEWNET) as well, best effort
  bool require_confinement = true;  // false: run unconfined where seccomp is unavailable
  // Non-empty: the child's files are confined to this directory plus the system's read-only
  // programs and libraries (sandbox::confine_files), where the kernel has Landlock.
  std::string files_dir;
};

// The exit status of a child that could not be confined (and was required to be).
constexpr int kUnconfinedExit = 125;
bool unconfined(int raw_status);

// The absolute path of `name` on PATH (or `name` itself when it contains a slash).
std::optional<std::string> find_program(const std::string& name);

class ChildProcess {
 public:
  static Result<ChildProcess> spawn(const std::vector<std::string>& argv, const ChildLimits& limits,
                                    const std::string& cwd = "");
  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess();

  int in() const { return in_; }
  int out() const { return out_; }
  int err() const { return err_; }
  void close_in();
  void kill();
  // Waits for the exit (after kill() or on its own); the raw waitpid status.
  int wait();
  // Non-blocking: true (and the status) once it has exited.
  bool try_wait(int& status);
  pid_t pid() const { return pid_; }

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

struct Captured {
  int status = 0;  // raw waitpid status
  std::string out, err;
  bool exited_ok() const;
};

// Runs argv to completion with `input` on stdin; timeout or cancel kill it (a `timeout` Status).
Result<Captured> run_captured(const std::vector<std::string>& argv, const std::string& input,
                              std::chrono::steady_clock::time_point deadline, const std::atomic<bool>* cancelled,
                              const ChildLimits& limits = {}, const std::string& cwd = "", size_t max_output = 64u << 20);

// Writes all of `data` to fd (blocking); false when the reader went away.
bool write_all(int fd, const std::string& data);

}  // namespace varg
