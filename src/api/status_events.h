// A server-sent event stream of one job's state (generation jobs and renders alike):
// `event: status` with the job's JSON on every change, `: keepalive` every 15 s, closed at a
// terminal state or when its lifetime ends (then, if asked, an `event: timeout` first).
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/status.h"
#include "http/message.h"

namespace varg {

class StatusEvents final : public BodyStream, public std::enable_shared_from_this<StatusEvents> {
 public:
  using clock = std::chrono::steady_clock;
  struct Source {
    std::function<uint64_t()> version;  // moves on every change of the job
    // Calls back with true once the version passes `seen`, or false at the deadline.
    std::function<void(uint64_t seen, clock::time_point deadline, std::function<void(bool)>)> watch;
    // The job as JSON and whether it is terminal, or why it cannot be read.
    std::function<Result<std::pair<nlohmann::json, bool>>()> snapshot;
  };
  StatusEvents(Source src, std::chrono::seconds lifetime, bool timeout_event)
      : src_(std::move(src)), end_(clock::now() + lifetime), timeout_event_(timeout_event) {}

  void next(std::function<void(std::optional<std::string>)> deliver) override;
  void cancel() override;

 private:
  std::string event();
  std::optional<std::string> expired();

  Source src_;
  std::mutex mu_;
  bool started_ = false, done_ = false, cancelled_ = false;
  uint64_t seen_ = 0;
  clock::time_point end_;
  bool timeout_event_;
};

}  // namespace varg
