#include "server/log_sink.h"

#include <unistd.h>

#include <cerrno>

namespace varg {

BufferedFdSink::BufferedFdSink(int fd, std::chrono::milliseconds every) : fd_(fd), flusher_(every, [this] { flush(); }) {
  buf_.reserve(kBuffer + 4096);
}

BufferedFdSink::~BufferedFdSink() {
  flusher_.stop();
  flush();
}

void BufferedFdSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t line;
  formatter_->format(msg, line);
  buf_.append(line.data(), line.size());
  if (buf_.size() >= kBuffer) write_out();
}

void BufferedFdSink::flush_() { write_out(); }

void BufferedFdSink::write_out() {
  size_t done = 0;
  while (done < buf_.size()) {
    ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // a closed or full log: the lines are dropped rather than blocking requests
    done += size_t(n);
  }
  buf_.clear();
}

}  // namespace varg
