#include "api/status_events.h"

namespace varg {

void StatusEvents::next(std::function<void(std::optional<std::string>)> deliver) {
  std::unique_lock lk(mu_);
  if (done_ || cancelled_) return deliver(std::nullopt);
  if (clock::now() >= end_) {
    lk.unlock();
    return deliver(expired());
  }
  if (!started_) {
    started_ = true;
    lk.unlock();
    return deliver(event());
  }
  auto self = shared_from_this();
  uint64_t seen = seen_;
  lk.unlock();
  src_.watch(seen, std::min(end_, clock::now() + std::chrono::seconds(15)), [self, deliver](bool changed) {
    if (changed) return deliver(self->event());
    if (clock::now() >= self->end_) return deliver(self->expired());
    deliver(std::optional<std::string>(": keepalive\n\n"));
  });
}

void StatusEvents::cancel() {
  std::lock_guard lk(mu_);
  cancelled_ = true;
}

std::optional<std::string> StatusEvents::expired() {
  std::lock_guard lk(mu_);
  bool first = !done_;
  done_ = true;
  if (!timeout_event_ || !first) return std::nullopt;
  return std::string("event: timeout\ndata: {}\n\n");
}

std::string StatusEvents::event() {
  uint64_t v = src_.version();  // read before the job, so no change can slip between
  auto snap = src_.snapshot();
  std::lock_guard lk(mu_);
  seen_ = v;
  if (!snap.ok()) {
    done_ = true;
    return "event: error\ndata: " + nlohmann::json{{"error", snap.status().message}}.dump() + "\n\n";
  }
  if (snap->second) done_ = true;
  return "event: status\ndata: " + snap->first.dump() + "\n\n";
}

}  // namespace varg
