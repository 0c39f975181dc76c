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
    if (spend(who, minute)) return Status::Ok();
    auto took = shared_->take_requests(who, ms, limit_, batch());
    if (!took.ok()) return took.status();
    if (*took == 0) return limited(limit_, ms);
    std::lock_guard lk(mu_);
    if (slots_.size() > 200000) slots_.clear();
    Slots& s = slots_[who];
    if (s.minute != minute) s = {minute, 0};
    s.left += *took - 1;  // one is this request's
    return Status::Ok();
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

bool RateLimiter::spend(int64_t who, int64_t minute) {
  std::lock_guard lk(mu_);
  auto it = slots_.find(who);
  if (it == slots_.end() || it->second.minute != minute || it->second.left == 0) return false;
  it->second.left--;
  return true;
}

Task<Status> RateLimiter::run(const Request& req, int64_t user_id, Flow& flow) {
  // Reads are cheap; writes and generations count, per account: every key and session of an
  // account shares one budget, so minting keys does not buy more.
  if (req.method == "GET" || req.method == "HEAD") co_return Status::Ok();
  if (shared_ && limit_ > 0) {
    if (spend(user_id, clock_.now_ms() / 60000)) co_return Status::Ok();  // a slot in memory: no hop
    const bool moved = co_await flow.to_worker();
    if (!moved) co_return overloaded();
  }
  co_return admit(user_id);
}

}  // namespace varg
