#include "gen/breaker.h"

#include <algorithm>

namespace varg {

void Breaker::refresh(int64_t now_ms) {
  if (state_ == State::open && now_ms >= until_) {
    state_ = State::half_open;
    probing_ = false;
  }
  if (state_ == State::half_open && probing_ && now_ms >= until_) probing_ = false;  // the probe went quiet
}

bool Breaker::allow(int64_t now_ms, int* retry_after_s) {
  std::lock_guard lk(mu_);
  refresh(now_ms);
  if (state_ == State::closed) return true;
  if (state_ == State::half_open && !probing_) {
    probing_ = true;
    until_ = now_ms + s_.open_ms;
    return true;
  }
  rejected_++;
  *retry_after_s = int(std::max<int64_t>(1, (until_ - now_ms + 999) / 1000));
  return false;
}

void Breaker::record(bool outage, int64_t now_ms) {
  std::lock_guard lk(mu_);
  refresh(now_ms);
  if (!outage) {
    state_ = State::closed;
    failures_ = 0;
    probing_ = false;
    return;
  }
  failures_++;
  if (s_.failures > 0 && (state_ == State::half_open || (state_ == State::closed && failures_ >= s_.failures))) {
    state_ = State::open;
    until_ = now_ms + s_.open_ms;
    probing_ = false;
    opened_++;
  }
}

Breaker::Snapshot Breaker::snapshot(int64_t now_ms) {
  std::lock_guard lk(mu_);
  refresh(now_ms);
  return {state_, failures_, opened_, rejected_};
}

const char* breaker_state_name(Breaker::State s) {
  switch (s) {
    case Breaker::State::closed: return "closed";
    case Breaker::State::open: return "open";
    case Breaker::State::half_open: return "half_open";
  }
  return "closed";
}

}  // namespace varg
