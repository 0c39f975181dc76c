// A circuit breaker for one provider (docs/operations.md). Closed: requests pass, and `failures`
// consecutive outages (5xx, timeouts, connection errors, garbage — not a refused request) open it.
// Open: admission fails fast with provider_error and Retry-After for `open_ms`. Then half-open: one
// request passes as a probe; its success closes the breaker, its failure opens it again. A probe
// that never reports (cancelled, the process busy) gives way to another after `open_ms`.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>

namespace varg {

struct BreakerSettings {
  int failures = 5;  // 0: never opens
  int64_t open_ms = 30000;
};

class Breaker {
 public:
  enum class State { closed, open, half_open };
  using Settings = BreakerSettings;
  explicit Breaker(Settings s) : s_(s) {}

  // Whether a request may go to the provider now; when not, *retry_after_s says for how long.
  bool allow(int64_t now_ms, int* retry_after_s);
  void record(bool outage, int64_t now_ms);

  struct Snapshot {
    State state;
    int64_t consecutive_failures, opened_total, rejected_total;
  };
  Snapshot snapshot(int64_t now_ms);

 private:
  void refresh(int64_t now_ms);  // open → half_open once its time is up
  Settings s_;
  std::mutex mu_;
  State state_ = State::closed;
  int64_t failures_ = 0, until_ = 0, opened_ = 0, rejected_ = 0;
  bool probing_ = false;
};

const char* breaker_state_name(Breaker::State s);

}  // namespace varg
