#include "api/pipeline/rate_limit.h"

namespace varg {

namespace {
Status limited(int limit, int64_t ms) {
  Status s = error(Code::rate_limited, "Rate limit of " + std::to_string(limit) + " requests per minute exceeded");
  s.retry_after = int(60 - (ms % 60000) / 1000);
  return s;
}
}  // namespace

Status RateLimiter::admit(int64_t who) {
  if (limit_ <= 0) return Status::Ok();
  const int64_t ms = clock_.now_ms(), minute = ms / 60000;
  if (shared_) {
    auto ok = shared_->admit_request(who, ms, limit_);
    if (!ok.ok()) return ok.status();
    return *ok ? Status::Ok() : limited(limit_, ms);
  }
  std::lock_guard lk(mu_);
  if (windows_.size() > 200000) windows_.clear();  // bounded memory under a flood of credentials
  Window& w = windows_[who];
  if (w.minute != minute) {
    w.previous = w.minute == minute - 1 ? w.current : 0;
    w.current = 0;
    w.minute = minute;
  }
  // The previous minute counts in proportion to how much of it the sliding window still covers.
  const double into = double(ms % 60000) / 60000.0;
  const double used = w.previous * (1.0 - into) + w.current;
  if (used + 1 > limit_) return limited(limit_, ms);
  w.current++;
  return Status::Ok();
}

Task<Status> RateLimiter::run(const Request& req, int64_t user_id, Flow& flow) {
  // Reads are cheap; writes and generations count, per account: every key and session of an
  // account shares one budget, so minting keys does not buy more.
  if (req.method == "GET" || req.method == "HEAD") co_return Status::Ok();
  if (shared_ && limit_ > 0) {
    const bool moved = co_await flow.to_worker();
    if (!moved) co_return overloaded();
  }
  co_return admit(user_id);
}

}  // namespace varg
