// Generation jobs: the submit path (validate → inputs → cache → provider key → price → reserve →
// persist) and the workers that run them (provider call → blob store → cache → capture, or
// release on failure, cancel and restart). Watchers (SSE, Prefer: wait) are called back on every
// change of a job, or at their deadline.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "auth/permissions.h"
#include "billing/ledger.h"
#include "gen/breaker.h"
#include "gen/catalog.h"
#include "gen/files.h"
#include "gen/hits.h"
#include "gen/provider.h"
#include "gen/provider_keys.h"
#include "gen/request.h"
#include "store/store.h"

namespace varg {

class Jobs {
 public:
  static constexpr int64_t kOrphanGrace = 60;  // s: recovery releases holds without a live job older than this
  struct Options {
    int workers = 4;
    int64_t cache_ttl = 30 * 86400;
    bool cache_per_account = false;  // scope: global (default) or account
    bool allow_private_urls = false;     // callers' input-file URLs
    bool allow_private_results = false;  // result URLs named by a provider's answer
    size_t input_max_bytes = 50u << 20;  // --upload-body-limit: an upload, or an input fetched by URL
    int fetches_per_account = 2;  // jobs of one account fetching input URLs at once
    size_t output_max_bytes = 512u << 20;
    int max_active_per_account = 20;  // queued + processing jobs of one account; 0: no cap
    // Several instances share the store: each job is leased to the instance running it (renewed
    // while it runs), and an instance takes over the jobs whose lease ran out, at start and then
    // periodically. Otherwise (SQLite) this process takes over every unfinished job at start.
    bool shared_store = false;
    int64_t lease_ms = 10000;
    // No threads: the caller runs queued jobs one at a time with step() (the simulation).
    bool manual = false;
    Breaker::Settings breaker{};  // per remote provider
    size_t max_queued = 10000;    // jobs waiting here for a worker; more: 503 with Retry-After
  };
  Jobs(Store& store, Files& files, ProviderRegistry& providers, ProviderKeys& keys, const Catalog& catalog,
       const Clock& clock, Options opts);
  ~Jobs();

  // Resumes unfinished jobs (or fails them cleanly), releases holds left without a live job, and
  // starts the workers (none when manual).
  void start();
  // Stops taking queued jobs, lets running ones finish for up to `drain`, then stops the rest where
  // they are (they resume at the next start, or — on a shared store — on another instance at once:
  // their leases are handed over).
  void stop(std::chrono::milliseconds drain = std::chrono::milliseconds(0));
  // Prometheus text: the job queue, each provider's breaker and its calls by outcome.
  std::string metrics();
  // Manual mode: runs the next queued job (or one whose fetch slot came free) on the calling
  // thread; false when none is waiting.
  bool step();

  struct Submission {
    int64_t user_id = 0;
    std::string capability;
    nlohmann::json body;
    std::map<std::string, std::string> header_keys;  // provider → X-Provider-Key-* value
    std::string cache_control;                       // "", "no-cache" or "no-store"
    // The caller's key: generate/api.generate.<capability> with its model and credits
    // constraints is checked here, for every way in (v1, dashboard, render). null: full rights.
    std::shared_ptr<const Permissions> permissions;
    // The Idempotency-Key's scope (Ctx::idempotency): written with the job in its admission, and a
    // retry replays that job (*replayed set).
    std::optional<IdempotencyRecord> idempotency{};
  };
  Result<JobRecord> submit(const Submission& s, bool* replayed = nullptr);
  // What submit and estimate decide alike from a request: the normalized request (its rights
  // checked when asked), its inputs, its cache key (empty while inputs named by URL are unfetched)
  // and who pays (billing_mode "" with no_key set: no key, which only a cached result forgives).
  struct Plan {
    GenRequest req;
    nlohmann::json inputs{};
    bool fetch = false;
    std::string cache_key{}, header_key{}, key_source = "none", billing_mode{};
    Status no_key{};
    std::string webhook_url{};  // "": none
    bool hit_checked = false;   // cached() ran complete_if_cached already
    bool payer_pending = false; // pay() has yet to resolve the provider key
  };
  // submit() in two halves, the request planned once. cached() needs no transaction: the completed
  // job when the result is cached (and the request keeps no Idempotency-Key and sends no webhook),
  // else nullopt with `*planned` set for admit(). Reads only: the request path may run it where
  // reads do not block.
  Result<std::optional<JobRecord>> cached(const Submission& s, std::optional<Plan>* planned);
  Result<JobRecord> admit(const Submission& s, Plan p, bool* replayed);
  // POST /v1/jobs/{id}/retry: the caller's failed or cancelled job run again as a new job — its
  // stored request and inputs, with the rights, keys and balance of now (`s` minus its body);
  // 409 for a job that is live or completed.
  Result<JobRecord> retry(const Submission& s, const std::string& id, bool* replayed = nullptr);
  // What submit would charge now (POST /v1/estimate): a cached result or a BYOK key 0, the pooled
  // key the price. Inputs named by a URL that is not ours are not fetched: the cache cannot know
  // them yet, so such a request is estimated as it would run.
  struct Estimate {
    int64_t credits = 0;
    std::string mode;  // metered | byok | cached | free
  };
  Result<Estimate> estimate(const Submission& s);

  // The caller's job; another account's job is not_found.
  Result<JobRecord> get(int64_t user_id, const std::string& id);
  // Cancels a queued or processing job and releases its reservation; finished jobs are left alone.
  Status cancel(int64_t user_id, const std::string& id);
  // Writes the cache hits' queued usage rows (gen/hits.h): a listing of jobs or usage calls it first.
  Status flush_hits() { return hits_.flush(); }

  // Change notification: `version` moves on every change of the job; watch() calls `cb(true)` once
  // the version passes `seen`, or `cb(false)` at the deadline.
  uint64_t version(const std::string& id);
  void watch(const std::string& id, uint64_t seen, std::chrono::steady_clock::time_point deadline,
             std::function<void(bool changed)> cb);

  nlohmann::json to_json(const JobRecord& j) const;
  const Catalog& catalog() const { return catalog_; }
  const Options& options() const { return opts_; }
  // The bytes at a caller's input URL, fetched with the guards of a generation's input (no private
  // address unless allow_private_urls, input_max_bytes, 30 s). Every failure is the same answer
  // (refused address, no connection, any status other than 200): no port-scan oracle.
  Result<std::string> fetch_input(const std::string& url) const;
  // A job with several results (media processing) has as its output a stored listing of them,
  // named by this media type: {"file_id", "media_type", ...} with each further file referenced
  // as {"file_id", "media_type"}; to_json turns each reference into {"url", "media_type"}.
  static constexpr const char* kListingType = "application/vnd.varg.listing+json";

 private:
  struct Watcher {
    uint64_t seen;
    std::chrono::steady_clock::time_point deadline;
    std::function<void(bool)> cb;
  };
  void worker();
  void timer();
  void leases();
  void poll_watched(const std::vector<std::string>& ids);
  void adopt_unfinished(bool all);
  void run(const std::string& id);
  void run_job(const std::string& id);
  void sweep();
  void notify(const std::string& id, bool terminal = false);
  void enqueue(const std::string& id);
  Result<Plan> plan(const Submission& s, bool check_rights);
  Status settle(Plan& p, const Submission& s, nlohmann::json inputs);  // inputs, cache key, who pays if no key decides
  Status pay(Plan& p, const Submission& s);  // the provider key and so the billing mode (before admission)
  void bill(JobRecord& j, const Plan& p) const;
  JobRecord new_job(const Submission& s, const Plan& p) const;
  Result<bool> complete_if_cached(JobRecord& j);
  Status extras(Plan& p, const Submission& s) const;
  Result<nlohmann::json> name_inputs(const std::vector<nlohmann::json>& files);
  // The cache key of a request whose inputs all carry their content hash.
  std::string key_of(const std::string& capability, const ModelSpec& m, const nlohmann::json& params,
                     const nlohmann::json& inputs, int64_t user) const;
  bool fetch_inputs(JobRecord& job, nlohmann::json& stored);
  // The job's model and the provider that runs it; null when either is gone (from the catalog, or
  // not enabled on this instance).
  std::pair<const ModelSpec*, Provider*> route_of(const JobRecord& job) const;
  Result<ProviderOutput> call_provider(JobRecord& job, const ModelSpec& m, Provider& p, const std::atomic<bool>& cancelled);
  Result<JobRecord> load(const std::string& id);  // a queued hit, or the store's row
  void complete(JobRecord job, const ProviderOutput& out);
  Result<FileRecord> store_listing(const FileRecord& first, const ProviderOutput& out);
  nlohmann::json listing(const std::string& file_id) const;
  void fail(JobRecord job, const std::string& why);
  // Admission's guard for the provider of the plan: its breaker lets the request through, or the
  // model's fallback takes it at exactly the same price (the plan is switched to it and *routed
  // is its submission), or the request fails fast with provider_error and Retry-After.
  Status through_breaker(const Submission& s, Plan& p, std::optional<Submission>* routed);
  Breaker* breaker_of(const std::string& provider);
  // Writes a job's final transition (its charge or release), trying again while the store is
  // unavailable (the database restarting, a full disk) — the outcome is in hand and must not be
  // lost — until it is written, refused for good, or this process stops.
  Result<Store::Moved> write_final(const Store::Transition& t);
  // write() again while it fails for a while only (a Status with retry_after: the store or the
  // disk), with backoff, until it succeeds, fails for good, or this process stops.
  template <class F>
  auto persist(F write, const std::string& job_id) -> decltype(write());
  // A job reached its final state (`final`: its record as written, kept a minute for the watchers
  // that re-read it; null when not known here) and its followers with it.
  void finished(const std::string& id, const std::vector<std::string>& followers, const JobRecord* final = nullptr);

  Store& store_;
  Files& files_;
  ProviderRegistry& providers_;
  ProviderKeys& keys_;
  const Catalog& catalog_;
  const Clock& clock_;
  billing::Ledger ledger_;
  Options opts_;
  const std::string instance_;  // this process's name on the job leases it holds
  Hits hits_{store_, clock_};
  std::map<std::string, JobStatus> polled_;  // watched job → its status at the last poll (lease thread only)

  std::mutex mu_;
  std::condition_variable cv_;       // the timer thread: stop
  std::condition_variable work_cv_;  // job workers: a queued job
  std::deque<std::string> queue_;
  bool stopping_ = false;
  bool draining_ = false;  // stop(): no queued job starts any more
  int busy_ = 0;           // workers running a job
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> cancel_flags_;  // running jobs
  std::map<std::string, std::string> header_keys_;  // job → BYOK header key, in memory only
  std::map<int64_t, int> fetching_;                  // account → jobs fetching input URLs now
  std::map<std::string, std::unique_ptr<Breaker>> breakers_;  // remote providers (fixed at start)
  struct Calls {
    std::atomic<int64_t> ok{0}, error{0}, outage{0}, fallback{0};
  };
  std::map<std::string, Calls> calls_;  // provider → outcomes of its calls (same keys as breakers_)
  // Jobs to run again shortly: waiting for a fetch slot, or for the store to come back.
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> later_;
  static constexpr std::chrono::milliseconds kLater{200};
  std::map<std::string, uint64_t> versions_;
  // Records of the last kFinalKept jobs finished here (final: they never move), for the watchers
  // that re-read a job as it finishes.
  static constexpr size_t kFinalKept = 2048;
  std::map<std::string, JobRecord> final_;
  std::deque<std::string> final_order_;
  // Jobs admitted here and not finished, as last written here: their worker starts from this
  // record, and on a store only this process writes load() answers from it.
  std::map<std::string, JobRecord> live_;
  void remember(const JobRecord& j);  // a move of a live job written here
  std::map<std::string, std::vector<Watcher>> watchers_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> finished_;
  std::vector<std::thread> threads_;
  mutable std::mutex listings_mu_;
  mutable std::map<std::string, nlohmann::json> listings_;  // listing file → its rendered output (immutable, so kept)
};

}  // namespace varg
