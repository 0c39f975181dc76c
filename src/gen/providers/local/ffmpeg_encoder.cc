#include "gen/providers/local/ffmpeg_encoder.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/sandbox.h"

namespace varg::local {

namespace {

using Clock = std::chrono::steady_clock;

// Owns the child: whatever path leaves encode_mp4, ffmpeg does not outlive it.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap();
    }
  }
  enum class Exit { exited, lost, stopped };
  // Waits for the exit. `lost`: reaped elsewhere (SIGCHLD ignored); `stopped`: cancel or deadline.
  Exit wait(Clock::time_point deadline, const std::atomic<bool>& cancelled, int& status) {
    while (true) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r > 0) {
        pid_ = 0;
        return Exit::exited;
      }
      if (r < 0 && errno != EINTR) {
        pid_ = 0;
        return Exit::lost;
      }
      if (cancelled.load() || Clock::now() > deadline) return Exit::stopped;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 private:
  void reap() {
    int st;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    pid_ = 0;
  }
  pid_t pid_;
};

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { close(); }
  int get() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

enum class Sent { ok, closed, cancelled, timed_out };

// A socket rather than a pipe carries the frames: send(MSG_NOSIGNAL) reports a dead ffmpeg as
// EPIPE instead of a SIGPIPE that would kill the whole server.
Sent send_all(int fd, const uint8_t* data, size_t size, Clock::time_point deadline, const std::atomic<bool>& cancelled) {
  while (size > 0) {
    if (cancelled.load()) return Sent::cancelled;
    if (Clock::now() > deadline) return Sent::timed_out;
    pollfd p{fd, POLLOUT, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready < 0 && errno != EINTR) return Sent::closed;
    if (ready <= 0) continue;
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return Sent::closed;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Sent::ok;
}

std::vector<std::string> arguments(const Mp4Job& job) {
  std::vector<std::string> a = {"ffmpeg", "-nostdin", "-y", "-loglevel", "error",
                                "-f", "rawvideo", "-pix_fmt", "rgb24",
                                "-s", std::to_string(job.width) + "x" + std::to_string(job.height),
                                "-r", std::to_string(job.fps), "-i", "pipe:0"};
  if (!job.audio_wav.empty()) a.insert(a.end(), {"-i", job.audio_wav.string(), "-map", "0:v", "-map", "1:a"});
  a.insert(a.end(), {"-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-threads", "2"});
  if (!job.audio_wav.empty()) a.insert(a.end(), {"-c:a", "aac", "-b:a", "96k", "-shortest"});
  // bitexact and no metadata: no version strings or timestamps, so equal requests give equal bytes.
  a.insert(a.end(), {"-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1",
                     "-movflags", "+faststart", job.output.string()});
  return a;
}

std::string log_excerpt(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text.size() > 400 ? text.substr(0, 400) + "..." : text;
}

Status spawn(const std::filesystem::path& ffmpeg, const Mp4Job& job, int stdin_fd, pid_t& pid) {
  const std::vector<std::string> args = arguments(job);
  std::vector<char*> argv;
  for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, job.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // no server sockets or files leak into ffmpeg
  const int rc = posix_spawn(&pid, ffmpeg.c_str(), &fa, nullptr, argv.data(), sandbox::minimal_environ());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return error(Code::internal, "cannot start ffmpeg: " + std::string(strerror(rc)));
  return Status::Ok();
}

}  // namespace

std::optional<std::filesystem::path> find_ffmpeg() {
  const char* path = std::getenv("PATH");
  std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string dir = dirs.substr(start, end - start);
    if (!dir.empty()) {
      const auto candidate = std::filesystem::path(dir) / "ffmpeg";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return std::nullopt;
}

Status encode_mp4(const std::filesystem::path& ffmpeg, const Mp4Job& job, const FrameDrawer& draw,
                  const std::atomic<bool>& cancelled) {
  const auto deadline = Clock::now() + job.timeout;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return error(Code::internal, "cannot create a socket for ffmpeg");
  Fd ours(sv[0]), theirs(sv[1]);
  pid_t pid = 0;
  VARG_TRY(spawn(ffmpeg, job, theirs.get(), pid));
  Child child(pid);
  theirs.close();

  Picture frame(job.width, job.height);
  for (int i = 0; i < job.frames; i++) {
    draw(i, frame);
    const Sent sent = send_all(ours.get(), frame.rgb.data(), frame.rgb.size(), deadline, cancelled);
    if (sent == Sent::cancelled) return error(Code::unavailable, "cancelled");
    if (sent == Sent::timed_out) return error(Code::timeout, "ffmpeg took too long");
    if (sent == Sent::closed) break;  // ffmpeg exited early; its status and log say why
  }
  ours.close();  // end of input: ffmpeg finishes the file

  int status = 0;
  const Child::Exit exit = child.wait(deadline, cancelled, status);
  if (exit == Child::Exit::stopped) {
    if (cancelled.load()) return error(Code::unavailable, "cancelled");
    return error(Code::timeout, "ffmpeg took too long");
  }
  if (exit == Child::Exit::lost) {
    // Its status is gone; the file it left is the only evidence, and the caller checks it.
    return Status::Ok();
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return error(Code::internal, "ffmpeg failed: " + log_excerpt(job.log));
  return Status::Ok();
}

}  // namespace varg::local
