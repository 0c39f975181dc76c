// BufferedFdSink: lines stay in memory until 64 KiB, a warning, the flusher's tick or the end, and
// each write(2) carries whole lines.
#include "server/log_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <string>

namespace varg {
namespace {

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_NONBLOCK), 0);
    r = fds[0], w = fds[1];
    ::fcntl(w, F_SETPIPE_SZ, 1 << 20);
  }
  ~Pipe() { ::close(r), ::close(w); }
  std::string drain() {
    std::string out;
    char b[65536];
    for (ssize_t n; (n = ::read(r, b, sizeof b)) > 0;) out.append(b, size_t(n));
    return out;
  }
};

std::shared_ptr<spdlog::logger> logger_on(int fd, std::chrono::milliseconds every = std::chrono::hours(1)) {
  auto l = std::make_shared<spdlog::logger>("t", std::make_shared<BufferedFdSink>(fd, every));
  l->set_pattern("%v");
  l->flush_on(spdlog::level::warn);
  return l;
}

TEST(BufferedFdSink, InfoLinesWaitInMemoryAndAWarningWritesThemWithIt) {
  Pipe p;
  auto log = logger_on(p.w);
  log->info("first");
  log->info("second");
  EXPECT_EQ(p.drain(), "");
  log->warn("trouble");
  EXPECT_EQ(p.drain(), "first\nsecond\ntrouble\n");
}

TEST(BufferedFdSink, AFullBufferIsWrittenAsWholeLines) {
  Pipe p;
  auto log = logger_on(p.w);
  const std::string line(999, 'x');  // 1000 bytes with the newline
  for (int i = 0; i < 65; i++) log->info(line);
  EXPECT_EQ(p.drain(), "");  // 65,000 bytes: under 64 KiB
  log->info(line);
  std::string out = p.drain();
  ASSERT_EQ(out.size(), 66u * 1000u);  // the 66th line took it past
  EXPECT_EQ(out.back(), '\n');
  log->info("after");
  EXPECT_EQ(p.drain(), "");
}

TEST(BufferedFdSink, TheFlusherWritesWithinItsPeriod) {
  Pipe p;
  auto log = logger_on(p.w, std::chrono::milliseconds(50));
  log->info("soon");
  std::string out;
  for (int i = 0; i < 100 && out.empty(); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    out = p.drain();
  }
  EXPECT_EQ(out, "soon\n");
}

TEST(BufferedFdSink, TheLastLinesAreWrittenAtTheEnd) {
  Pipe p;
  {
    auto log = logger_on(p.w);
    log->info("last words");
  }
  EXPECT_EQ(p.drain(), "last words\n");
}

}  // namespace
}  // namespace varg
