#include "gen/jobs.h"

#include <spdlog/spdlog.h>

#include <sstream>

#include "common/crypto.h"
#include "gen/webhooks.h"
#include "http/client.h"


namespace varg {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

Jobs::Jobs(Store& store, Files& files, ProviderRegistry& providers, ProviderKeys& keys, const Catalog& catalog,
           const Clock& clock, Options opts)
    : store_(store), files_(files), providers_(providers), keys_(keys), catalog_(catalog), clock_(clock),
      ledger_(store, clock), opts_(opts),
      instance_("vargd-" + random_base62(16)) {
  for (auto& [name, p] : providers_)
    if (p->needs_key()) {
      breakers_[name] = std::make_unique<Breaker>(opts_.breaker);
      calls_[name];
    }
}

Breaker* Jobs::breaker_of(const std::string& provider) {
  auto it = breakers_.find(provider);
  return it == breakers_.end() ? nullptr : it->second.get();
}

std::string Jobs::metrics() {
  std::ostringstream o;
  size_t queued = 0, running = 0;
  {
    std::lock_guard lk(mu_);
    queued = queue_.size() + later_.size();
    running = cancel_flags_.size();
  }
  o << "# TYPE varg_jobs_queued gauge\nvarg_jobs_queued " << queued << "\n";
  o << "# TYPE varg_jobs_running gauge\nvarg_jobs_running " << running << "\n";
  o << "# TYPE varg_provider_breaker_state gauge\n# TYPE varg_provider_breaker_opened_total counter\n"
       "# TYPE varg_provider_breaker_rejected_total counter\n# TYPE varg_provider_calls_total counter\n"
       "# TYPE varg_provider_fallbacks_total counter\n";
  const int64_t now = clock_.now_ms();
  for (auto& [name, b] : breakers_) {
    const auto snap = b->snapshot(now);
    const std::string l = "provider=\"" + name + "\"";
    for (auto st : {Breaker::State::closed, Breaker::State::open, Breaker::State::half_open})
      o << "varg_provider_breaker_state{" << l << ",state=\"" << breaker_state_name(st) << "\"} " << (snap.state == st) << "\n";
    o << "varg_provider_breaker_opened_total{" << l << "} " << snap.opened_total << "\n";
    o << "varg_provider_breaker_rejected_total{" << l << "} " << snap.rejected_total << "\n";
    const Calls& c = calls_.at(name);
    o << "varg_provider_calls_total{" << l << ",outcome=\"ok\"} " << c.ok << "\n";
    o << "varg_provider_calls_total{" << l << ",outcome=\"error\"} " << c.error << "\n";
    o << "varg_provider_calls_total{" << l << ",outcome=\"outage\"} " << c.outage << "\n";
    o << "varg_provider_fallbacks_total{" << l << "} " << c.fallback << "\n";
  }
  return o.str();
}

Jobs::~Jobs() { stop(); }

void Jobs::start() {
  sweep();
  adopt_unfinished(!opts_.shared_store);
  if (opts_.manual) return;
  for (int i = 0; i < std::max(1, opts_.workers); i++) threads_.emplace_back([this] { worker(); });
  threads_.emplace_back([this] { timer(); });
  if (opts_.shared_store) threads_.emplace_back([this] { leases(); });
}

// Resumes unfinished jobs (or fails them cleanly): `all` of them when this process is the only
// one on the store, else only those whose instance stopped renewing their lease.
void Jobs::adopt_unfinished(bool all) {
  auto pending = store_.unfinished_jobs();
  if (!pending.ok()) return;
  size_t adopted = 0;
  for (auto& j : *pending) {
    if (!all) {
      const int64_t now = clock_.now_ms();
      // A follower runs nowhere, so one of ours is looked at too: should its leader have ended
      // without resolving it, it must not wait forever under a lease this instance keeps renewing.
      const bool ours = j.lease_owner == instance_;
      if (ours ? j.leader.empty() : j.lease_until >= now) continue;
      if (!ours) {
        auto claimed = store_.claim_job(j.id, instance_, now + opts_.lease_ms, now);
        if (!claimed.ok() || !*claimed) continue;  // another instance was quicker
      }
    }
    if (!j.leader.empty()) {  // a follower: its leader resolves it, unless the leader is gone
      auto leader = store_.job(j.leader);
      if (!leader.ok() && leader.status().code != Code::not_found) continue;  // unreadable now: looked at next time
      if (leader.ok() && is_live(leader->status)) continue;
      adopted++;
      fail(j, "the identical request this one waited for is gone; send the request again");
      continue;
    }
    adopted++;
    if (j.key_source == "header") {
      fail(j, "vargd restarted while this job ran, and BYOK header keys are never kept; send the request again");
    } else {
      enqueue(j.id);
    }
  }
  if (adopted > 0) spdlog::info(json{{"msg", "resuming unfinished jobs"}, {"count", adopted}}.dump());
}

// Keeps this instance's leases alive, takes over the jobs of instances that died, and tells
// watchers here about jobs that another instance moved: at once from the store's announcements
// (LISTEN/NOTIFY on PostgreSQL), and by polling every 2 s in case one was lost (a reconnect).
void Jobs::leases() {
  const auto period = std::chrono::milliseconds(std::max<int64_t>(100, opts_.lease_ms / 5));
  auto due = steady::now() + period, poll_due = steady::now() + std::chrono::seconds(2);
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (stopping_) return;
    }
    const std::vector<std::string> changed = store_.job_changes(250);
    std::vector<std::string> wake, watched;
    const bool poll = steady::now() >= poll_due;
    {
      std::lock_guard lk(mu_);
      if (stopping_) return;
      for (auto& id : changed)
        if (watchers_.count(id)) wake.push_back(id);
      if (poll)
        for (auto& [id, ws] : watchers_)
          if (!ws.empty()) watched.push_back(id);
    }
    for (auto& id : wake) notify(id);
    if (poll) {
      poll_watched(watched);
      poll_due = steady::now() + std::chrono::seconds(2);
    }
    if (steady::now() >= due) {
      store_.renew_leases(instance_, clock_.now_ms() + opts_.lease_ms);
      adopt_unfinished(false);
      due = steady::now() + period;
    }
  }
}

void Jobs::poll_watched(const std::vector<std::string>& ids) {
  std::map<std::string, JobStatus> seen;
  for (auto& id : ids) {
    auto j = load(id);
    if (!j.ok()) continue;
    seen[id] = j->status;
    auto last = polled_.find(id);
    // A terminal job is always news to a watcher (it stops watching then); otherwise a change.
    if (!is_live(j->status) || (last != polled_.end() && last->second != j->status)) notify(id);
  }
  polled_ = std::move(seen);
}

void Jobs::stop(std::chrono::milliseconds drain) {
  {
    std::unique_lock lk(mu_);
    if (stopping_) return;
    draining_ = true;
    work_cv_.notify_all();
    const bool drained = work_cv_.wait_for(lk, drain, [&] { return busy_ == 0; });
    stopping_ = true;
    for (auto& [_, f] : cancel_flags_) f->store(true);  // running jobs stay unfinished and resume at next start
    if (!drained || !queue_.empty() || !later_.empty())
      spdlog::info(json{{"msg", "stopping with unfinished jobs; they resume at the next start or on another instance"},
                        {"running", busy_}, {"queued", queue_.size() + later_.size()}}.dump());
  }
  cv_.notify_all();
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  hits_.flush();
  if (opts_.shared_store) store_.release_leases(instance_);
}

// ---- notification ----

uint64_t Jobs::version(const std::string& id) {
  std::lock_guard lk(mu_);
  auto it = versions_.find(id);
  return it == versions_.end() ? 0 : it->second;
}

void Jobs::watch(const std::string& id, uint64_t seen, steady::time_point deadline, std::function<void(bool)> cb) {
  {
    std::lock_guard lk(mu_);
    if (versions_[id] <= seen) {
      watchers_[id].push_back({seen, deadline, std::move(cb)});
      return;
    }
  }
  cb(true);
}

void Jobs::notify(const std::string& id, bool terminal) {
  std::vector<Watcher> fire;
  {
    std::lock_guard lk(mu_);
    versions_[id]++;
    if (terminal) finished_.emplace_back(steady::now(), id);
    auto it = watchers_.find(id);
    if (it != watchers_.end()) {
      fire = std::move(it->second);
      watchers_.erase(it);
    }
  }
  for (auto& w : fire) w.cb(true);
}

// Recovery: a reservation whose job is no longer live (a crash of an older vargd between writes,
// an operator's edit) is released. Admission and settlement are atomic, so nothing else makes one.
void Jobs::sweep() {
  auto orphans = store_.orphan_holds(clock_.now() - kOrphanGrace);
  if (!orphans.ok()) return;
  for (auto& h : *orphans) ledger_.release_orphan(h);
  if (!orphans->empty()) spdlog::warn(json{{"msg", "released reservations without a live job"}, {"count", orphans->size()}}.dump());
}

void Jobs::timer() {
  std::unique_lock lk(mu_);
  auto next_sweep = steady::now() + std::chrono::seconds(kOrphanGrace);
  while (!stopping_) {
    cv_.wait_for(lk, std::chrono::milliseconds(100));
    while (!later_.empty() && later_.front().first <= steady::now()) {  // their turn came
      queue_.push_back(later_.front().second);
      later_.pop_front();
      work_cv_.notify_one();
    }
    if (steady::now() >= next_sweep) {
      lk.unlock();
      sweep();
      lk.lock();
      next_sweep = steady::now() + std::chrono::seconds(kOrphanGrace);
    }
    std::vector<Watcher> due;
    auto now = steady::now();
    for (auto it = watchers_.begin(); it != watchers_.end();) {
      auto& ws = it->second;
      for (auto w = ws.begin(); w != ws.end();) {
        if (w->deadline <= now) {
          due.push_back(std::move(*w));
          w = ws.erase(w);
        } else {
          ++w;
        }
      }
      it = ws.empty() ? watchers_.erase(it) : std::next(it);
    }
    // A finished job changes no more: forget its version once late watchers had their chance.
    while (!finished_.empty() && finished_.front().first < now - std::chrono::seconds(10)) {
      if (!watchers_.count(finished_.front().second)) versions_.erase(finished_.front().second);
      finished_.pop_front();
    }
    lk.unlock();
    for (auto& w : due) w.cb(false);
    lk.lock();
  }
  auto rest = std::move(watchers_);
  watchers_.clear();
  lk.unlock();
  for (auto& [_, ws] : rest)
    for (auto& w : ws) w.cb(false);
}

// ---- submit ----

json Jobs::to_json(const JobRecord& j) const {
  json out = {{"job_id", j.id},
              {"status", job_status_name(j.status)},
              {"model", j.model},
              {"created_at", iso8601(j.created_at)},
              {"cache", {{"hit", j.cache_hit}, {"key", j.cache_key}}},
              {"billing", {{"mode", j.billing_mode}, {"cost_cents", j.cost_cents}}}};
  if (j.completed_at) out["completed_at"] = iso8601(*j.completed_at);
  if (j.output_media_type == kListingType)
    out["output"] = listing(j.output_file_id);
  else if (!j.output_file_id.empty())
    out["output"] = {{"url", files_.url(j.output_file_id, j.output_media_type)}, {"media_type", j.output_media_type}};
  if (!j.error.empty()) out["error"] = j.error;
  return out;
}

namespace {

// A copy of a listing in which each object's member `key` is replaced by what `swap` adds to it.
json rewrite_refs(const json& v, const char* key, const std::function<void(const json&, json&)>& swap) {
  if (v.is_array()) {
    json a = json::array();
    for (auto& x : v) a.push_back(rewrite_refs(x, key, swap));
    return a;
  }
  if (!v.is_object()) return v;
  json o = json::object();
  for (auto& [k, x] : v.items())
    if (k != key) o[k] = rewrite_refs(x, key, swap);
  if (auto ref = v.find(key); ref != v.end()) swap(*ref, o);
  return o;
}

}  // namespace

json Jobs::listing(const std::string& file_id) const {
  {
    std::lock_guard lk(listings_mu_);
    if (auto it = listings_.find(file_id); it != listings_.end()) return it->second;
  }
  auto f = files_.by_name(file_id + ".json");
  auto bytes = f.ok() ? files_.bytes(*f) : Result<std::string>(f.status());
  json doc = bytes.ok() ? json::parse(*bytes, nullptr, false) : json();
  if (!doc.is_object()) return {{"url", nullptr}, {"error", "the list of this job's results cannot be read"}};
  json out = rewrite_refs(doc, "file_id", [&](const json& id, json& o) {
    if (id.is_string() && o.value("media_type", json()).is_string())
      o["url"] = files_.url(id.get<std::string>(), o["media_type"].get<std::string>());
  });
  std::lock_guard lk(listings_mu_);
  if (listings_.size() >= 4096) listings_.clear();
  return listings_[file_id] = out;
}

namespace {

constexpr const char* kUnfetchable = ": it must be a public http(s) URL that answers 200";

bool needs_fetch(const json& inputs) {
  for (auto& i : inputs)
    if (i.value("fetch", false)) return true;
  return false;
}

}  // namespace

std::string Jobs::key_of(const std::string& capability, const ModelSpec& m, const json& params, const json& inputs,
                         int64_t user) const {
  std::vector<std::string> hashes;
  for (auto& i : inputs) hashes.push_back(i["hash"]);
  return cache_key(capability, m, params, hashes, opts_.cache_per_account ? user : 0);
}

Result<json> Jobs::name_inputs(const std::vector<json>& files) {
  json out = json::array();
  for (auto& f : files) {
    const std::string url = f["url"].get<std::string>();
    auto ours = files_.resolve(url);
    if (ours.ok()) {
      out.push_back({{"url", files_.url(*ours)}, {"hash", ours->hash}, {"media_type", ours->media_type}});
      continue;
    }
    if (!url.starts_with("http://") && !url.starts_with("https://"))
      return error(Code::invalid, "Input file URLs must be http(s) URLs", "files");
    if (!opts_.allow_private_urls && names_private_host(url))
      return error(Code::invalid, "Could not fetch input file " + url + kUnfetchable, "files");
    out.push_back({{"url", url}, {"fetch", true}});  // fetched by the job, after admission
  }
  return out;
}

Result<std::string> Jobs::fetch_input(const std::string& url) const {
  HttpCall call;
  call.url = url;
  call.timeout_ms = 30000;
  call.max_bytes = opts_.input_max_bytes;
  call.allow_private = opts_.allow_private_urls;
  auto r = http_call(call);
  if (!r.ok() || r->status != 200) return error(Code::invalid, "Could not fetch input file " + url + kUnfetchable);
  return std::move(r->body);
}

// Fetches the job's inputs named by URL (at most opts_.fetches_per_account at once per account;
// over that, the job waits its turn) and settles what its cache key decides. false when the job
// does not go on to the provider: it waits, was answered from the cache, follows an identical
// job, failed, or was cancelled meanwhile.
bool Jobs::fetch_inputs(JobRecord& job, json& stored) {
  {
    std::lock_guard lk(mu_);
    int& n = fetching_[job.user_id];
    if (n >= std::max(1, opts_.fetches_per_account)) {
      later_.emplace_back(steady::now() + kLater, job.id);
      return false;
    }
    n++;
  }
  struct Slot {
    Jobs* jobs;
    int64_t user;
    ~Slot() {
      std::lock_guard lk(jobs->mu_);
      if (--jobs->fetching_[user] <= 0) jobs->fetching_.erase(user);
    }
  } slot{this, job.user_id};
  for (auto& i : stored["inputs"]) {
    if (i.value("fetch", false)) {
      const std::string url = i["url"];
      auto bytes = fetch_input(url);
      if (!bytes.ok()) {
        fail(job, bytes.status().message);
        return false;
      }
      bool existed = false;
      auto f = files_.put(*bytes, &existed);  // typed by its bytes, not by the remote server
      if (!f.ok()) {
        fail(job, "could not store the input file " + url);
        return false;
      }
      i = {{"url", files_.url(*f)}, {"hash", f->hash}, {"media_type", f->media_type}};
    }
  }
  const ModelSpec* m = catalog_.find(job.model);
  if (!m) {
    fail(job, "model " + job.model + " is no longer in the catalog");
    return false;
  }
  Store::Resolution r{job, job.status, job.cache_mode.empty(), job.cache_mode != "no-store", clock_.now(), std::nullopt};
  if (!job.reservation.empty()) r.release = ledger_.release(job);
  r.job.params = stored.dump();
  r.job.cache_key = key_of(job.capability, *m, stored["params"], stored["inputs"], job.user_id);
  auto resolved = store_.resolve_job(r);
  if (!resolved.ok()) {
    fail(job, "could not record the job's inputs: " + resolved.status().message);
    return false;
  }
  if (!*resolved) return false;  // cancelled meanwhile
  job = std::move(**resolved);
  if (job.status == JobStatus::completed) {  // answered from the cache: free
    finished(job.id, {});
    return false;
  }
  return job.leader.empty();  // a follower waits for its leader
}

Result<Jobs::Plan> Jobs::plan(const Submission& s, bool check_rights) {
  auto req = normalize_request(s.capability, s.body, catalog_);
  if (!req.ok()) return req.status();
  Plan p{std::move(*req)};
  if (check_rights) VARG_TRY(check_generate_right(s.permissions, s.capability, *p.req.model, p.req.credits()));
  auto inputs = name_inputs(p.req.files);
  if (!inputs.ok()) return inputs.status();
  VARG_TRY(settle(p, s, std::move(*inputs)));
  return p;
}

// What a request asks besides the generation itself: its webhook (its address checked again,
// resolved, on every attempt).
Status Jobs::extras(Plan& p, const Submission& s) const {
  auto hook = webhook_url_of(s.body);
  if (!hook.ok()) return hook.status();
  if (!opts_.allow_private_urls && names_private_host(*hook))
    return error(Code::invalid, "Field 'webhook_url' must name a public address", "webhook_url");
  p.webhook_url = std::move(*hook);
  return Status::Ok();
}

// The request's inputs and cache key, and who pays when that needs no key: local code is free or
// metered at the catalog's price; otherwise pay() decides, after the cache had its say.
Status Jobs::settle(Plan& p, const Submission& s, json inputs) {
  const ModelSpec& m = *p.req.model;
  auto provider = providers_.find(m.provider);
  if (provider == providers_.end())
    return error(Code::unavailable, "Provider '" + m.provider + "' is not enabled on this gateway");
  p.inputs = std::move(inputs);
  p.fetch = needs_fetch(p.inputs);
  if (!p.fetch)  // else the job learns its cache key once it has fetched its inputs
    p.cache_key = key_of(s.capability, m, p.req.params, p.inputs, s.user_id);
  if (auto it = s.header_keys.find(m.provider); it != s.header_keys.end()) p.header_key = it->second;
  if (!provider->second->needs_key()) {  // local code: free, or metered at the catalog's price (media processing)
    p.billing_mode = p.req.credits() > 0 ? "metered" : "free";
    return Status::Ok();
  }
  p.payer_pending = true;
  return Status::Ok();
}

// Who pays a provider that needs a key: BYOK (header or saved key) costs nothing; only the
// gateway's pooled key is metered. A cached result needs no key at all — so a hit never reads or
// unseals a saved key — and a missing key only fails a request that must run.
Status Jobs::pay(Plan& p, const Submission& s) {
  if (!p.payer_pending) return Status::Ok();
  p.payer_pending = false;
  auto key = keys_.resolve(s.user_id, p.req.model->provider, p.header_key);
  if (key.ok()) {
    p.key_source = key->source;
    p.billing_mode = key->source == "pooled" ? "metered" : "byok";
  } else {
    p.no_key = key.status();
  }
  return Status::Ok();
}

Result<JobRecord> Jobs::submit(const Submission& s, bool* replayed) {
  auto p = plan(s, true);
  if (!p.ok()) return p.status();
  VARG_TRY(extras(*p, s));
  return admit(s, std::move(*p), replayed);
}

Result<JobRecord> Jobs::retry(const Submission& s, const std::string& id, bool* replayed) {
  auto old = get(s.user_id, id);
  if (!old.ok()) return old.status();
  if (old->status != JobStatus::failed && old->status != JobStatus::cancelled)
    return error(Code::conflict, std::string("Only a failed or cancelled job can be retried; this one is ") + job_status_name(old->status));
  const ModelSpec* m = catalog_.find(old->model);
  if (!m) return error(Code::conflict, "Model " + old->model + " is no longer in the catalog");
  json stored = json::parse(old->params);
  Plan p{GenRequest{m, stored["params"], {}}};
  VARG_TRY(check_generate_right(s.permissions, old->capability, *m, p.req.credits()));
  Submission again = s;
  again.capability = old->capability;
  VARG_TRY(settle(p, again, stored["inputs"]));
  VARG_TRY(extras(p, s));
  return admit(again, std::move(p), replayed);
}

// A new job's record, as the request and its plan decide it.
JobRecord Jobs::new_job(const Submission& s, const Plan& p) const {
  const ModelSpec& m = *p.req.model;
  JobRecord j;
  j.id = "job_" + random_base62(24);
  j.user_id = s.user_id;
  j.capability = s.capability;
  j.model = m.qualified();
  j.params = json{{"params", p.req.params}, {"inputs", p.inputs}}.dump();
  j.created_at = clock_.now();
  j.cache_mode = s.cache_control;
  j.cache_key = p.cache_key;
  j.lease_owner = instance_;  // this instance runs it, unless it dies first
  j.lease_until = clock_.now_ms() + opts_.lease_ms;
  bill(j, p);
  return j;
}

void Jobs::bill(JobRecord& j, const Plan& p) const {
  j.key_source = p.key_source;
  j.billing_mode = p.billing_mode;
  j.cost_cents = j.billing_mode == "metered" ? p.req.credits() : 0;
}

namespace {
// A cache hit that keeps no Idempotency-Key and sends no webhook needs no transaction, when the
// request allows a lookup (no Cache-Control, no input to fetch first).
bool quick_hit_allowed(const Jobs::Submission& s, const Jobs::Plan& p) {
  return s.cache_control.empty() && !p.fetch && !s.idempotency && p.webhook_url.empty() && !p.cache_key.empty();
}
}  // namespace

// The quick hit: its entry comes from memory or a read, its usage row goes out with the next batch
// (gen/hits.h).
Result<bool> Jobs::complete_if_cached(JobRecord& j) {
  auto hit = hits_.entry(j.cache_key);
  if (!hit.ok()) return hit.status();
  if (!*hit) return false;
  j.complete_from_cache((*hit)->file_id, (*hit)->media_type, clock_.now());
  hits_.record(j);
  return true;
}

Result<std::optional<JobRecord>> Jobs::cached(const Submission& s, std::optional<Plan>* planned) {
  auto p = plan(s, true);
  if (!p.ok()) return p.status();
  VARG_TRY(extras(*p, s));
  if (quick_hit_allowed(s, *p)) {
    JobRecord j = new_job(s, *p);
    auto done = complete_if_cached(j);
    if (!done.ok()) return done.status();
    if (*done) return std::optional<JobRecord>(std::move(j));
  }
  p->hit_checked = true;
  *planned = std::move(*p);
  return std::optional<JobRecord>();
}

// Admission (submit and retry): the job row, its reservation and its place in the queue.
Result<JobRecord> Jobs::admit(const Submission& s, Plan p, bool* replayed) {
  JobRecord j = new_job(s, p);
  auto quick = !p.hit_checked && quick_hit_allowed(s, p) ? complete_if_cached(j) : Result<bool>(false);
  if (!quick.ok()) return quick.status();
  if (*quick) {
    if (replayed) *replayed = false;
    return j;
  }
  VARG_TRY(pay(p, s));
  std::optional<Submission> routed;  // the fallback's, when the breaker sends the request there
  VARG_TRY(through_breaker(s, p, &routed));
  if (routed) j = new_job(*routed, p);
  {
    std::lock_guard lk(mu_);
    if (queue_.size() + later_.size() >= opts_.max_queued)
      return retry_later(Code::unavailable, "Too many jobs are waiting on this instance; retry shortly", 2);
  }
  bill(j, p);
  Store::Admission a;
  if (!p.no_key.ok()) a.unless_hit = p.no_key;
  if (j.cost_cents > 0) {
    j.reservation = billing::Ledger::hold_id(j.id);
    a.hold = ledger_.hold(j);
  }
  // Admission, one transaction: a cached result (free, at once; no-cache skips the lookup), or an
  // identical request in flight on any instance to wait for (free; no-store opts out), or the
  // active-jobs cap, the reservation and the job row (402 or 429: nothing written, no provider call).
  a.job = j;
  a.max_active = opts_.max_active_per_account;
  a.lookup_cache = s.cache_control.empty() && !p.fetch;
  a.join_flight = s.cache_control != "no-store" && !p.fetch;
  a.now = clock_.now();
  a.idempotency = s.idempotency;
  a.idempotency_since = clock_.now() - kIdempotencyTtl;
  if (!p.webhook_url.empty()) {
    a.webhook = WebhookDelivery{};
    a.webhook->id = "msg_" + random_base62(24);
    a.webhook->user_id = s.user_id;
    a.webhook->url = p.webhook_url;
    a.webhook->next_attempt_at = clock_.now_ms();
    a.webhook->created_at = clock_.now();
  }
  auto admitted = store_.admit_job(a);
  if (!admitted.ok()) return admitted.status();
  if (replayed) *replayed = admitted->replayed;
  if (admitted->replayed) return std::move(admitted->job);
  j = std::move(admitted->job);
  if (j.status == JobStatus::queued && j.leader.empty()) {
    {
      std::lock_guard lk(mu_);
      if (!p.header_key.empty()) header_keys_[j.id] = p.header_key;
      live_[j.id] = j;
    }
    enqueue(j.id);
  }
  return j;
}

Status Jobs::through_breaker(const Submission& s, Plan& p, std::optional<Submission>* routed) {
  const ModelSpec& m = *p.req.model;
  Breaker* b = breaker_of(m.provider);
  int wait = 0;
  if (!b || b->allow(clock_.now_ms(), &wait)) return Status::Ok();
  if (!m.fallback.empty()) {
    Submission alt = s;
    alt.body["model"] = m.fallback;
    auto q = plan(alt, true);
    int alt_wait = 0;
    // The caller was quoted this price and billing mode: the fallback serves it only on the same terms.
    if (q.ok() && pay(*q, alt).ok() && q->no_key.ok() == p.no_key.ok() && q->billing_mode == p.billing_mode &&
        q->req.credits() == p.req.credits()) {
      Breaker* other = breaker_of(q->req.model->provider);
      if (!other || other->allow(clock_.now_ms(), &alt_wait)) {
        calls_.at(m.provider).fallback++;
        spdlog::info(json{{"msg", "breaker open: request sent to the fallback model"}, {"model", m.qualified()},
                          {"fallback", q->req.model->qualified()}}.dump());
        *routed = std::move(alt);
        p = std::move(*q);
        return Status::Ok();
      }
    }
  }
  Status st = retry_later(Code::provider_error,
                          m.provider + " is failing: new requests to it are paused for " + std::to_string(wait) +
                              " s (circuit breaker open); retry then",
                          wait);
  st.provider = m.provider;
  return st;
}

Result<Jobs::Estimate> Jobs::estimate(const Submission& s) {
  auto p = plan(s, false);
  if (!p.ok()) return p.status();
  if (s.cache_control.empty() && !p->fetch) {
    auto hit = hits_.entry(p->cache_key);
    if (!hit.ok()) return hit.status();
    if (*hit) return Estimate{0, "cached"};
  }
  VARG_TRY(pay(*p, s));
  if (!p->no_key.ok()) return p->no_key;
  return Estimate{p->billing_mode == "metered" ? p->req.credits() : 0, p->billing_mode};
}

bool Jobs::step() {
  std::string id;
  {
    std::lock_guard lk(mu_);
    if (queue_.empty() && !later_.empty()) {  // nothing else to do: its turn has come
      queue_.push_back(later_.front().second);
      later_.pop_front();
    }
    if (queue_.empty()) return false;
    id = queue_.front();
    queue_.pop_front();
  }
  run(id);
  return true;
}

void Jobs::enqueue(const std::string& id) {
  {
    std::lock_guard lk(mu_);
    queue_.push_back(id);
  }
  work_cv_.notify_one();  // one job wakes one worker
}

// ---- running ----

void Jobs::worker() {
  for (;;) {
    std::string id;
    {
      std::unique_lock lk(mu_);
      work_cv_.wait(lk, [&] { return draining_ || !queue_.empty(); });
      if (draining_) return;
      id = queue_.front();
      queue_.pop_front();
      busy_++;
    }
    run(id);
    std::lock_guard lk(mu_);
    if (--busy_ == 0 && draining_) work_cv_.notify_all();  // stop() waits for the last one
  }
}

std::pair<const ModelSpec*, Provider*> Jobs::route_of(const JobRecord& job) const {
  const ModelSpec* m = catalog_.find(job.model);
  auto p = m ? providers_.find(m->provider) : providers_.end();
  return {m, p == providers_.end() ? nullptr : p->second.get()};
}

Result<ProviderOutput> Jobs::call_provider(JobRecord& job, const ModelSpec& m, Provider& p,
                                           const std::atomic<bool>& cancelled) {
  std::string key;
  if (p.needs_key()) {
    std::string header;
    {
      std::lock_guard lk(mu_);
      if (auto it = header_keys_.find(job.id); it != header_keys_.end()) header = it->second;
    }
    auto k = header.empty() ? keys_.key_for(job.user_id, m.provider, job.key_source) : Result<std::string>(header);
    if (!k.ok()) return k.status();
    key = *k;
  }
  json stored = json::parse(job.params);
  ProviderCall call{job.id, m, stored["params"], {}, key, job.upstream_id, cancelled, nullptr};
  for (auto& i : stored["inputs"]) call.inputs.push_back({i["url"], i["hash"], i["media_type"]});
  call.on_upstream_id = [&job](const std::string& up) { job.upstream_id = up; };
  bool kept = !job.upstream_id.empty();  // resumed: written already
  call.on_running = [this, &job, &kept] {
    if (kept) return;
    kept = true;
    JobRecord next = job;
    next.status = JobStatus::processing;
    auto moved = store_.transition_job({next, job.status, std::nullopt, std::nullopt});
    if (!moved.ok() || !moved->applied) return;  // a cancel won (its flag stops the call), or it stays as it was
    const bool started = job.status == JobStatus::queued;
    job.status = JobStatus::processing;
    remember(job);
    if (started) notify(job.id);
  };
  auto out = p.generate(call);
  if (!out.ok() && cancelled && !stopping_) p.cancel(m, job.upstream_id, key);
  return out;
}

void Jobs::run(const std::string& id) {
  try {
    run_job(id);
  } catch (const std::exception& e) {  // a corrupt job row fails that job, never the worker thread
    auto j = store_.job(id);
    if (j.ok() && is_live(j->status)) fail(*j, std::string("internal error: the job record is unreadable (") + e.what() + ")");
    spdlog::error(json{{"msg", "job failed on an unreadable record"}, {"job_id", id}, {"error", e.what()}}.dump());
  }
  std::lock_guard lk(mu_);
  live_.erase(id);  // whatever became of it (stopped, taken by another instance), the store knows
}

void Jobs::run_job(const std::string& id) {
  std::optional<JobRecord> here;
  {
    std::lock_guard lk(mu_);
    if (auto it = live_.find(id); it != live_.end()) here = it->second;
  }
  // The store unavailable for now (a database restart): the job runs again shortly, not never.
  auto again = [&](const Status& s) {
    if (s.retry_after == 0) return;
    std::lock_guard lk(mu_);
    later_.emplace_back(steady::now() + kLater, id);
  };
  auto loaded = here ? Result<JobRecord>(std::move(*here)) : store_.job(id);
  if (!loaded.ok()) return again(loaded.status());
  if (!is_live(loaded->status) || !loaded->leader.empty()) return;
  JobRecord job = std::move(*loaded);
  const int64_t now = clock_.now_ms();
  // Each job runs on one instance: the lease holder. A job admitted here holds this instance's
  // lease already (renewed every lease_ms / 5), so only a lease about to run out is claimed again.
  if (opts_.shared_store && !(job.lease_owner == instance_ && job.lease_until > now + opts_.lease_ms / 2)) {
    auto mine = store_.claim_job(id, instance_, now + opts_.lease_ms, now);
    if (!mine.ok()) return again(mine.status());
    if (!*mine) return;
  }
  json stored = json::parse(job.params);
  if (needs_fetch(stored["inputs"])) {
    {
      std::lock_guard lk(mu_);
      live_.erase(id);  // fetching rewrites the record (inputs, cache key): the store has it
    }
    if (!fetch_inputs(job, stored)) return;
  }
  const auto [m, provider] = route_of(job);
  if (!m || !provider) {
    fail(job, m ? m->provider + ": the provider is not enabled on this instance"
                : job.model + ": the model is no longer in the catalog");
    return;
  }
  if (job.status == JobStatus::queued) {
    job.started_at = clock_.now();
    // A queue API's move to processing is written with its upstream id once the request turns out
    // to take a while (ProviderCall::running), or with its completion: a generation the upstream
    // finishes at once costs one write transaction, not three. Otherwise it is written now.
    if (!provider->submits_first() || !job.upstream_id.empty()) {
      job.status = JobStatus::processing;
      auto moved = store_.transition_job({job, JobStatus::queued, std::nullopt, std::nullopt});
      if (!moved.ok()) return again(moved.status());
      if (!moved->applied) return;  // cancelled meanwhile
      remember(job);
      notify(id);
    }
  }
  auto flag = std::make_shared<std::atomic<bool>>(false);
  {
    std::lock_guard lk(mu_);
    cancel_flags_[id] = flag;
  }
  auto out = call_provider(job, *m, *provider, *flag);
  {
    std::lock_guard lk(mu_);
    cancel_flags_.erase(id);
    if (stopping_) return;  // shutting down: the job stays unfinished and resumes at next start
  }
  if (*flag) return;  // cancelled: cancel() already settled it
  if (Breaker* b = breaker_of(m->provider)) {
    const bool outage = !out.ok() && out.status().retry_after > 0;
    auto& c = calls_.at(m->provider);
    (out.ok() ? c.ok : outage ? c.outage : c.error)++;
    b->record(outage, clock_.now_ms());
  }
  if (out.ok()) {
    complete(job, *out);
  } else {
    // Upstream errors already name their provider; others (a missing key, a local failure) get it here.
    const std::string& msg = out.status().message;
    fail(job, out.status().provider.empty() ? m->provider + ": " + msg : msg);
  }
}

void Jobs::complete(JobRecord job, const ProviderOutput& out) {
  std::string bytes = out.bytes;
  if (bytes.empty() && !out.url.empty()) {  // fetched once from wherever the provider says
    HttpCall call;
    call.url = out.url;
    call.timeout_ms = 120000;
    call.max_bytes = opts_.output_max_bytes;
    call.allow_private = opts_.allow_private_results;
    auto r = http_call(call);
    if (!r.ok() || r->status != 200) {
      fail(job, catalog_.find(job.model)->provider + ": could not download the result (" +
                    (r.ok() ? "HTTP " + std::to_string(r->status) : r.status().message) + ")");
      return;
    }
    bytes = std::move(r->body);
  }
  if (bytes.empty()) {
    fail(job, catalog_.find(job.model)->provider + ": the provider returned an empty result");
    return;
  }
  // One result: its file record is written by the completing transaction (one write fewer).
  bool existed = false;
  // A full disk keeps the result in hand until there is room again (or this process stops).
  auto f = persist([&] { return out.listing.is_null() ? files_.stage(bytes) : files_.put(bytes, &existed); }, job.id);
  if (!f.ok()) {
    fail(job, "could not store the result");
    return;
  }
  const JobStatus from = job.status;  // queued when a queue API's submit was its last write
  job.status = JobStatus::completed;
  job.completed_at = clock_.now();
  job.output_file_id = f->id;
  job.output_media_type = f->media_type;
  if (!out.listing.is_null()) {
    auto l = store_listing(*f, out);
    if (!l.ok()) {
      fail(job, "could not store the results: " + l.status().message);
      return;
    }
    job.output_file_id = l->id;
    job.output_media_type = kListingType;
  }
  Store::Transition t{job, from, std::nullopt, std::nullopt};
  if (out.listing.is_null()) t.file = *f;
  if (!job.reservation.empty())
    t.entry = ledger_.capture(job);
  // Charged and cached in the one transaction that completes the job: a cancel that came first
  // (even while the result downloaded) leaves nothing cached and nothing charged.
  if (job.cache_mode != "no-store")
    t.publish = CacheEntry{job.cache_key, job.output_file_id, job.output_media_type, clock_.now(), clock_.now() + opts_.cache_ttl};
  auto done = write_final(t);
  if (!done.ok()) {
    spdlog::error(json{{"msg", "cannot finish job"}, {"job_id", job.id}, {"error", done.status().message}}.dump());
    return;  // still processing in the store: it resumes (and settles) at the next start
  }
  if (!done->applied) return;  // cancel() settled it, notified and resolved its followers
  finished(job.id, done->followers, &job);
}

// Stores the further results and the listing that names them all (kListingType).
Result<FileRecord> Jobs::store_listing(const FileRecord& first, const ProviderOutput& out) {
  std::vector<FileRecord> stored = {first};
  for (auto& bytes : out.more) {
    bool existed = false;
    auto f = files_.put(bytes, &existed);
    if (!f.ok()) return f.status();
    stored.push_back(*f);
  }
  json doc = rewrite_refs(out.listing, "file", [&](const json& i, json& o) {
    if (i.is_number_unsigned() && i.get<size_t>() < stored.size()) {
      o["file_id"] = stored[i.get<size_t>()].id;
      o["media_type"] = stored[i.get<size_t>()].media_type;
    }
  });
  doc["file_id"] = first.id;
  doc["media_type"] = first.media_type;
  bool existed = false;
  return files_.put(doc.dump(), &existed);
}

void Jobs::fail(JobRecord job, const std::string& why) {
  const JobStatus from = job.status;
  job.status = JobStatus::failed;
  job.completed_at = clock_.now();
  job.error = why;
  job.cost_cents = 0;
  Store::Transition t{job, from, std::nullopt, std::nullopt};
  if (!job.reservation.empty())
    t.entry = ledger_.release(job);
  auto done = write_final(t);
  spdlog::info(json{{"msg", "job failed"}, {"job_id", job.id}, {"error", why}}.dump());
  const bool applied = done.ok() && done->applied;
  finished(job.id, done.ok() ? done->followers : std::vector<std::string>{}, applied ? &t.job : nullptr);
}

template <class F>
auto Jobs::persist(F write, const std::string& job_id) -> decltype(write()) {
  auto wait = std::chrono::milliseconds(100);
  for (bool logged = false;; logged = true) {
    auto done = write();
    if (done.ok() || done.status().retry_after == 0) return done;
    if (!logged)
      spdlog::warn(json{{"msg", "cannot write a job's outcome yet; trying again"}, {"job_id", job_id},
                        {"error", done.status().message}}.dump());
    std::unique_lock lk(mu_);
    if (cv_.wait_for(lk, wait, [&] { return stopping_; })) return done;  // resumes at the next start
    wait = std::min(wait * 2, std::chrono::milliseconds(5000));
  }
}

Result<Store::Moved> Jobs::write_final(const Store::Transition& t) {
  return persist([&] { return store_.transition_job(t); }, t.job.id);
}

// A job stopped being live: its watchers (and those of the followers resolved with it) hear it.
void Jobs::finished(const std::string& id, const std::vector<std::string>& followers, const JobRecord* final) {
  {
    std::lock_guard lk(mu_);
    header_keys_.erase(id);
    live_.erase(id);
    if (final && final_.insert_or_assign(id, *final).second) {
      final_order_.push_back(id);
      if (final_order_.size() > kFinalKept) {  // bounded under any throughput
        final_.erase(final_order_.front());
        final_order_.pop_front();
      }
    }
  }
  notify(id, true);
  for (auto& f : followers) notify(f, true);
}

// ---- reading and cancelling ----

Result<JobRecord> Jobs::load(const std::string& id) {
  if (auto q = hits_.queued(id)) return std::move(*q);
  {
    std::lock_guard lk(mu_);
    if (auto it = final_.find(id); it != final_.end()) return it->second;
    if (auto it = live_.find(id); it != live_.end() && !opts_.shared_store) return it->second;
  }
  return store_.job(id);
}

void Jobs::remember(const JobRecord& j) {
  std::lock_guard lk(mu_);
  if (auto it = live_.find(j.id); it != live_.end()) it->second = j;
}

Result<JobRecord> Jobs::get(int64_t user_id, const std::string& id) {
  if (!id.starts_with("job_") || id.size() > 64) return error(Code::not_found, "No such job");
  auto j = load(id);
  if (!j.ok()) return j;
  if (j->user_id != user_id) return error(Code::not_found, "No such job");
  return j;
}

Status Jobs::cancel(int64_t user_id, const std::string& id) {
  for (int attempt = 0; attempt < 3; attempt++) {
    auto j = get(user_id, id);
    if (!j.ok()) return j.status();
    if (!is_live(j->status)) return Status::Ok();
    j = store_.job(id);  // the move is made from the stored record, whatever memory knows
    if (!j.ok()) return j.status();
    if (!is_live(j->status)) return Status::Ok();
    Store::Transition t{*j, j->status, std::nullopt, std::nullopt};
    t.job.status = JobStatus::cancelled;
    t.job.completed_at = clock_.now();
    t.job.cost_cents = 0;
    if (!t.job.reservation.empty())
      t.entry = ledger_.release(t.job);
    auto moved = store_.transition_job(t);
    if (!moved.ok()) return moved.status();
    if (!moved->applied) continue;  // it moved on under us; look again
    {
      std::lock_guard lk(mu_);
      if (auto f = cancel_flags_.find(id); f != cancel_flags_.end()) f->second->store(true);
    }
    finished(id, moved->followers, &t.job);
    return Status::Ok();
  }
  return error(Code::conflict, "The job is changing state; retry");
}

}  // namespace varg
