// The log's sink: lines are formatted on the thread that logs them and appended to an in-memory
// buffer; the buffer is written with one write(2) when it holds 64 KiB, every second (a flusher
// thread), at once for warnings and errors, and at exit. Nothing is queued to another thread per
// line and nothing wakes one (spdlog's asynchronous logger signalled its worker on every line:
// a futex wake and a context switch per request). A kill -9 loses at most the last second of
// info lines; every write holds whole lines.
#pragma once
#include <spdlog/sinks/base_sink.h>

#include <mutex>
#include <string>

#include "common/periodic.h"

namespace varg {

class BufferedFdSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  static constexpr size_t kBuffer = 64 * 1024;
  // Writes to fd (not owned); flushes every `every` from a background thread.
  explicit BufferedFdSink(int fd, std::chrono::milliseconds every = std::chrono::seconds(1));
  ~BufferedFdSink() override;  // flushes what is left

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  void write_out();  // under the base sink's mutex
  int fd_;
  std::string buf_;
  Periodic flusher_;  // last
};

}  // namespace varg
