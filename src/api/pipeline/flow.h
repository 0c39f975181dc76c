// Where a request's pipeline runs. It starts on the network thread that read the request, and
// moves to the worker pool once, before its first step that may block (a store write, a store read
// on a server-backed store, a credential not in memory, a synchronous handler that is not a local
// read). A request served from memory never leaves the network thread.
#pragma once
#include <coroutine>

#include "common/status.h"
#include "common/worker_pool.h"

namespace varg {

// The worker queue is full: try again in a second.
inline Status overloaded() { return retry_later(Code::unavailable, "Server is overloaded; retry shortly"); }

class Flow {
 public:
  // `on_worker`: already off the network thread (Api::run's callers), so nothing hops.
  // `reads_inline`: the store answers reads without waiting (SQLite in WAL mode).
  Flow(WorkerPool& pool, bool on_worker, bool reads_inline)
      : pool_(pool), on_worker_(on_worker), reads_inline_(reads_inline) {}

  bool on_worker() const { return on_worker_; }
  // A store read may run where the request is now.
  bool may_read() const { return on_worker_ || reads_inline_; }

  // co_await flow.to_worker(): resumes on a worker (at once when already there). Yields false when
  // the worker queue is full: the caller answers 503 without having blocked anything.
  struct ToWorker {
    Flow& f;
    bool refused = false;
    bool await_ready() const noexcept { return f.on_worker_; }
    bool await_suspend(std::coroutine_handle<> h) {
      f.on_worker_ = true;
      if (f.pool_.submit([h] { h.resume(); })) return true;
      f.on_worker_ = false;
      refused = true;
      return false;  // resume here at once
    }
    bool await_resume() const noexcept { return !refused; }
  };
  ToWorker to_worker() { return ToWorker{*this}; }

 private:
  WorkerPool& pool_;
  bool on_worker_;
  bool reads_inline_;
};

}  // namespace varg
