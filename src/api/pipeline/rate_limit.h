// Pipeline step 3, rate limit. State-changing requests per minute per account (all its keys and
// sessions), as a sliding pair of one-minute windows: in this process for a store only it uses, in
// the store when instances share it (so N instances do not give N budgets). Shared, an instance
// takes its account's slots from the store in batches (batch(): limit / 64, at most 256; one slot
// each under 128 a minute) and spends them from memory; what is left of a batch when the minute
// ends is dropped. So no instance count admits more than the limit, and at most N × (batch − 1)
// requests a minute are refused below it.
#pragma once
#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "api/pipeline/flow.h"
#include "common/clock.h"
#include "common/task.h"
#include "http/message.h"
#include "common/status.h"
#include "store/store.h"

namespace varg {

class RateLimiter {
 public:
  // `shared`: the store several instances use (null: count in this process).
  RateLimiter(const Clock& clock, int per_minute, Store* shared = nullptr)
      : clock_(clock), limit_(per_minute), shared_(shared) {}
  // ok, or rate_limited with retry_after.
  Status admit(int64_t user_id);
  // The step: a request that changes state (not GET or HEAD) is admitted for its account. The
  // count in this process runs where the request is; a count in the shared store, on a worker.
  Task<Status> run(const Request& req, int64_t user_id, Flow& flow);
  int limit() const { return limit_; }
  int batch() const { return std::clamp(limit_ / 64, 1, 256); }

 private:
  struct Window {
    int64_t minute = 0;
    int current = 0, previous = 0;
  };
  bool spend(int64_t user_id, int64_t minute);  // a slot taken earlier, if one is left
  const Clock& clock_;
  int limit_;
  Store* shared_;
  std::mutex mu_;
  std::unordered_map<int64_t, Window> windows_;
  struct Slots {
    int64_t minute = 0;
    int left = 0;
  };
  std::unordered_map<int64_t, Slots> slots_;  // shared: taken from the store, not spent yet
};

}  // namespace varg
