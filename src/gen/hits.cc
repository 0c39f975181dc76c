#include "gen/hits.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace varg {

Hits::Hits(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

Hits::~Hits() {
  flusher_.stop();
  flush();
}

Result<std::optional<CacheEntry>> Hits::entry(const std::string& key) {
  const int64_t now = clock_.now();
  {
    std::lock_guard lk(hot_mu_);
    if (auto it = hot_.find(key); it != hot_.end()) {
      if (it->second.expires_at > now) return std::optional<CacheEntry>(it->second);
      hot_.erase(it);
    }
  }
  auto got = store_.cache_get(key, now);
  if (!got.ok() || !*got) return got;
  std::lock_guard lk(hot_mu_);
  if (hot_.size() >= kHotEntries) hot_.erase(hot_.begin());  // bounded; any entry may go
  hot_[key] = **got;
  return got;
}

void Hits::record(JobRecord job) {
  bool full;
  {
    std::lock_guard lk(mu_);
    std::string id = job.id;
    queued_.emplace(std::move(id), std::move(job));
    full = queued_.size() >= kMaxQueued;
  }
  if (full) flush();  // the store is behind: the caller waits for it rather than memory growing
}

std::optional<JobRecord> Hits::queued(const std::string& id) {
  std::lock_guard lk(mu_);
  if (auto it = queued_.find(id); it != queued_.end()) return it->second;
  if (auto it = writing_.find(id); it != writing_.end()) return it->second;
  return std::nullopt;
}

Status Hits::flush() {
  std::lock_guard w(write_mu_);
  std::vector<JobRecord> batch;
  {
    std::lock_guard lk(mu_);
    if (queued_.empty()) return Status::Ok();
    writing_.swap(queued_);
    for (auto& [_, j] : writing_) batch.push_back(j);
  }
  Status st = store_.insert_jobs(batch);
  std::lock_guard lk(mu_);
  if (!st.ok()) {  // kept for the next flush: nothing of a hit is lost to a failed write
    spdlog::warn(nlohmann::json{{"msg", "cache-hit usage not written yet"}, {"rows", batch.size()}, {"error", st.message}}.dump());
    queued_.merge(writing_);
  }
  writing_.clear();
  return st;
}

}  // namespace varg
