// A background thread that calls `fn` every `every` until stop() (or destruction): the flushers of
// buffered work (the log sink, cache-hit usage rows). stop() returns once the thread has ended, so
// the owner's last flush after it is the last one.
#pragma once
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace varg {

class Periodic {
 public:
  Periodic(std::chrono::milliseconds every, std::function<void()> fn)
      : thread_([this, every, fn = std::move(fn)] {
          std::unique_lock lk(mu_);
          while (!cv_.wait_for(lk, every, [this] { return stopping_; })) {
            lk.unlock();
            fn();
            lk.lock();
          }
        }) {}
  ~Periodic() { stop(); }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  void stop() {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the rest is built
};

}  // namespace varg
