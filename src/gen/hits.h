// Cache hits served from memory, their usage written in batches. A hit is free and already has its
// result, so nothing about it needs a write transaction on the reply path: the cache entry is read
// from memory (hot entries; the store's read pool otherwise), and the completed job row — the
// usage record, cost 0 — is queued and written with the others in one transaction every
// kFlushMs (and at stop, and before any listing of jobs or usage reads them). Until written, a
// queued job is answered from memory on this instance. A crash loses at most the last kFlushMs of
// hit records: no charge (hits carry none), no cached file or entry; only those hits' job ids and
// usage lines (docs/billing.md).
#pragma once
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/periodic.h"
#include "store/store.h"

namespace varg {

class Hits {
 public:
  static constexpr int kFlushMs = 100;
  static constexpr size_t kHotEntries = 4096;  // cache entries kept in memory
  static constexpr size_t kMaxQueued = 50000;  // past this, record() writes the queue itself

  Hits(Store& store, const Clock& clock);
  ~Hits();  // writes what is queued

  // The live cache entry for key, from memory or the store.
  Result<std::optional<CacheEntry>> entry(const std::string& key);
  // Queues a completed hit's job row.
  void record(JobRecord job);
  // A queued job not written yet.
  std::optional<JobRecord> queued(const std::string& id);
  // Writes every queued row now; returns once they are durable (or the write failed and they stay queued).
  Status flush();

 private:
  Store& store_;
  const Clock& clock_;
  std::mutex hot_mu_;
  std::unordered_map<std::string, CacheEntry> hot_;
  std::mutex mu_;
  std::mutex write_mu_;  // one batch written at a time, in order
  std::map<std::string, JobRecord> queued_, writing_;
  Periodic flusher_{std::chrono::milliseconds(kFlushMs), [this] { flush(); }};  // last
};

}  // namespace varg
