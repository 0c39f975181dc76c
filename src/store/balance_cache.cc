#include "store/balance_cache.h"

namespace varg {

Result<Balance> BalanceCache::get(int64_t user_id, const std::function<Result<Balance>()>& read) {
  const auto before = signal_->version();
  if (!before) return read();
  {
    std::lock_guard lk(mu_);
    if (auto it = known_.find(user_id); it != known_.end() && it->second.version == *before &&
                                        std::chrono::steady_clock::now() - it->second.at < std::chrono::milliseconds(kMs)) {
      hits_++;
      return it->second.balance;
    }
  }
  auto got = read();
  if (!got.ok() || signal_->version() != before) return got;  // a write landed while it was read
  std::lock_guard lk(mu_);
  if (known_.size() >= kMaxAccounts) known_.clear();  // bounded
  known_[user_id] = {*got, *before, std::chrono::steady_clock::now()};
  return got;
}

}  // namespace varg
