// Balances from memory, for a store whose every writer signals its writes (SqliteStore: a byte in
// <db>-changes seen through inotify; PostgresStore: a trigger's NOTIFY plus this process's own
// commits). An account's balance read once is answered from memory until a write is signalled,
// and for at most kMs even if one never is. `written` is drained without blocking by every read,
// so a read after a signalled write sees it, and a read racing a write is never kept (the
// generation moved while it read). Reservations still decide in the store.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "store/store.h"

namespace varg {

class BalanceCache {
 public:
  static constexpr int kMs = 1000;
  static constexpr size_t kMaxAccounts = 100000;
  // written(): true when anything may have been written since its last call, or when the signal is
  // broken (then nothing is kept). Called under the cache's lock.
  explicit BalanceCache(std::function<bool()> written) : written_(std::move(written)) {}

  // The balance from memory, or from read() (kept unless a write was signalled meanwhile).
  Result<Balance> get(int64_t user_id, const std::function<Result<Balance>()>& read);
  // Forgets everything (this process committed a write).
  void invalidate();
  int64_t hits() const { return hits_.load(); }  // reads memory answered (tests)

 private:
  void drain();  // under mu_
  std::function<bool()> written_;
  std::mutex mu_;
  uint64_t generation_ = 0;  // moves on every write seen
  struct Known {
    Balance balance;
    std::chrono::steady_clock::time_point at;
  };
  std::unordered_map<int64_t, Known> known_;
  std::atomic<int64_t> hits_{0};
};

}  // namespace varg
