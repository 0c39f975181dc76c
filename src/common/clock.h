// Time as injected dependency: tests can move a ManualClock; production uses SystemClock.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

namespace varg {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() const = 0;  // Unix epoch milliseconds
  int64_t now() const { return now_ms() / 1000; }
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t ms) : ms_(ms) {}
  int64_t now_ms() const override { return ms_; }
  void advance_ms(int64_t d) { ms_ += d; }

 private:
  std::atomic<int64_t> ms_;
};

std::string iso8601(int64_t unix_seconds);  // 2026-11-25T14:54:34Z
// Parses YYYY-MM-DD as a UTC midnight; false on a malformed date.
bool parse_date(const std::string& s, int64_t* unix_seconds);
// Parses a duration such as "30d", "12h", "15m", "90s" or a bare number of seconds.
bool parse_duration(const std::string& s, int64_t* seconds);

}  // namespace varg
