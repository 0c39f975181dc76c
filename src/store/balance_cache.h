// Balances from memory, for a store whose every writer signals its writes. The signal is a
// version number that moves when anything may have been written: SqliteStore's is a counter in a
// shared mapping of <db>-changes that every process on the file increments after each commit and
// before its writer returns; PostgresStore's moves at each own commit and at each NOTIFY from a
// trigger every writer fires. A balance is answered from memory while the version it was read at
// is still the version, and for at most kMs. A read racing a write is never kept (the version
// moved while it read). A get costs a lock-free load of the version plus one short critical
// section; no system call. Reservations still decide in the store.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "store/store.h"

namespace varg {

class BalanceCache {
 public:
  static constexpr int kMs = 1000;
  static constexpr size_t kMaxAccounts = 100000;
  struct Signal {
    virtual ~Signal() = default;
    // Moves whenever anything may have been written; nullopt while the signal is broken (then
    // nothing is kept). Read on every get, without a lock.
    virtual std::optional<uint64_t> version() const = 0;
  };
  explicit BalanceCache(std::shared_ptr<const Signal> signal) : signal_(std::move(signal)) {}

  // The balance from memory, or from read() (kept unless a write was signalled meanwhile).
  Result<Balance> get(int64_t user_id, const std::function<Result<Balance>()>& read);
  int64_t hits() const { return hits_.load(); }  // reads memory answered (tests)

 private:
  std::shared_ptr<const Signal> signal_;
  std::mutex mu_;
  struct Known {
    Balance balance;
    uint64_t version;
    std::chrono::steady_clock::time_point at;
  };
  std::unordered_map<int64_t, Known> known_;
  std::atomic<int64_t> hits_{0};
};

}  // namespace varg
