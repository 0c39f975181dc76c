// State-changing requests per minute per credential (API key or session), as a sliding pair of one-minute
// windows. In-process: with several instances each enforces its own share (docs/architecture.md).
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "common/status.h"

namespace varg {

class RateLimiter {
 public:
  RateLimiter(const Clock& clock, int per_minute) : clock_(clock), limit_(per_minute) {}
  // ok, or rate_limited with retry_after.
  Status admit(const std::string& who);
  int limit() const { return limit_; }

 private:
  struct Window {
    int64_t minute = 0;
    int current = 0, previous = 0;
  };
  const Clock& clock_;
  int limit_;
  std::mutex mu_;
  std::unordered_map<std::string, Window> windows_;
};

}  // namespace varg
