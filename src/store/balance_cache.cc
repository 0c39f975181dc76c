#include "store/balance_cache.h"

namespace varg {

void BalanceCache::drain() {
  if (written_()) {
    generation_++;
    known_.clear();
  }
}

void BalanceCache::invalidate() {
  std::lock_guard lk(mu_);
  generation_++;
  known_.clear();
}

Result<Balance> BalanceCache::get(int64_t user_id, const std::function<Result<Balance>()>& read) {
  uint64_t seen;
  {
    std::lock_guard lk(mu_);
    drain();
    if (auto it = known_.find(user_id);
        it != known_.end() && std::chrono::steady_clock::now() - it->second.at < std::chrono::milliseconds(kMs)) {
      hits_++;
      return it->second.balance;
    }
    seen = generation_;
  }
  auto got = read();
  if (!got.ok()) return got;
  std::lock_guard lk(mu_);
  drain();  // a write landed while it was read: the value may predate it
  if (seen == generation_) {
    if (known_.size() >= kMaxAccounts) known_.clear();  // bounded
    known_[user_id] = {*got, std::chrono::steady_clock::now()};
  }
  return got;
}

}  // namespace varg
