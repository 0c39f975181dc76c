#include "store/sql/db.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

namespace varg::sql {

// ---- rows ----

int64_t Rows::i64(int r, int c) const {
  const Cell& x = at(r, c);
  if (x.is_null) return 0;
  if (x.is_int) return x.i;
  return std::strtoll(x.s.c_str(), nullptr, 10);
}

std::string Rows::text(int r, int c) const {
  const Cell& x = at(r, c);
  if (x.is_null) return {};
  return x.is_int ? std::to_string(x.i) : x.s;
}

bool Rows::boolean(int r, int c) const {
  const Cell& x = at(r, c);
  if (x.is_null) return false;
  if (x.is_int) return x.i != 0;
  return x.s == "t" || x.s == "true" || x.s == "1";
}

std::optional<int64_t> Rows::opt_i64(int r, int c) const {
  if (null(r, c)) return std::nullopt;
  return i64(r, c);
}

std::optional<std::string> Rows::opt_text(int r, int c) const {
  if (null(r, c)) return std::nullopt;
  return text(r, c);
}

// ---- tx ----

Result<Rows> Tx::run(std::string_view sql, std::initializer_list<Value> params) {
  auto r = c_.run(sql, std::span<const Value>(params.begin(), params.size()));
  if (!r.ok()) {
    if (c_.lost_race()) retry_ = true;
  } else if (r->affected() > 0) {
    wrote_ = true;
  }
  return r;
}

Status Tx::retry() {
  retry_ = true;
  return retry_later(Code::unavailable, "The database is busy; retry shortly");
}

std::string numbered_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  char quote = 0;
  for (char ch : sql) {
    if (quote) {
      if (ch == quote) quote = 0;
      out += ch;
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
      out += ch;
    } else if (ch == '?') {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += ch;
    }
  }
  return out;
}

namespace {
void rollback(Connection& c) {
  if (c.in_transaction()) c.exec("ROLLBACK");  // a failed COMMIT has ended it already
}
}  // namespace

Status migrate(Connection& c, std::span<const char* const> steps, const std::string& begin) {
  VARG_TRY(c.exec("CREATE TABLE IF NOT EXISTS schema_migrations(version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)"));
  const int64_t total = int64_t(steps.size());
  for (;;) {
    VARG_TRY(c.exec(begin));
    int64_t v = 0;
    Status st = [&]() -> Status {
      auto have = c.run("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {});
      if (!have.ok()) return have.status();
      v = have->i64(0, 0) + 1;
      // One version ahead is the rolling upgrade (the next vargd migrated first): every migration is
      // additive, so this one's statements still run. More is refused.
      if (v - 1 > total + 1)
        return error(Code::internal, "database schema version " + std::to_string(v - 1) + " is newer than this vargd (" +
                                         std::to_string(total) + ") by more than one: upgrade vargd");
      if (v > total) return c.exec("COMMIT");
      Status s = c.exec(steps[size_t(v - 1)]);
      if (!s.ok()) return error(s.code, "migration " + std::to_string(v) + " failed: " + s.message);
      const Value row[] = {v, int64_t(std::time(nullptr))};
      VARG_TRY(c.run("INSERT INTO schema_migrations(version, applied_at) VALUES(?, ?)", row));
      return c.exec("COMMIT");
    }();
    if (!st.ok()) {
      rollback(c);
      return st;
    }
    if (v > total) return Status::Ok();
  }
}

// ---- db ----

namespace {

// Wakes one waiting thread once. A mutex and a condition variable rather than
// std::binary_semaphore: libstdc++'s semaphore spins with sched_yield before it sleeps, which on
// two busy cores was a fifth of the job path's CPU (bench S2 c=32).
class Signal {
 public:
  void release() {
    {
      std::lock_guard lk(mu_);
      set_ = true;
    }
    cv_.notify_one();
  }
  void acquire() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [this] { return set_; });
    set_ = false;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

// A write waiting for its group commit, woken once: either when its outcome is final (done) or
// to take the lead together with a free writer connection. Whoever wakes it sets those first (the
// signal's mutex orders them before the waiter reads them), so the leader wakes its batch without
// holding Db's mutex and a woken waiter does not block on it.
struct Op {
  FnRef<Status(Tx&)> fn;
  Status result;
  bool done = false;
  Connection* lead = nullptr;
  Signal woken;
  explicit Op(FnRef<Status(Tx&)> f) : fn(f) {}
  void finish() {
    done = true;
    woken.release();
  }
};

constexpr int kAttempts = 12;

constexpr int kLeadRounds = 8;

}  // namespace

struct Db::State {
  Engine engine;
  std::vector<std::unique_ptr<Connection>> all;
  std::mutex mu;
  std::condition_variable readers_cv;
  std::vector<Connection*> idle_readers, idle_writers;
  std::deque<Op*> queue;  // writes waiting for a writer connection
  Counters counters;

  void run_batch(Connection& c, std::vector<Op*>& batch);
  Status run_once(Connection& c, std::vector<Op*>& batch, std::vector<bool>& settled, bool alone_writer, bool& rerun);
};

Db::Db(Engine e) : s_(std::make_unique<State>()) { s_->engine = std::move(e); }
Db::~Db() = default;

Result<std::unique_ptr<Db>> Db::open(Engine engine) {
  std::unique_ptr<Db> db(new Db(std::move(engine)));
  State& s = *db->s_;
  for (int i = 0; i < std::max(1, s.engine.writers) + std::max(1, s.engine.readers); i++) {
    const bool writer = i < std::max(1, s.engine.writers);
    auto c = s.engine.connect(writer);
    if (!c.ok()) return c.status();
    if (s.engine.filter) *c = s.engine.filter(std::move(*c));
    (writer ? s.idle_writers : s.idle_readers).push_back(c->get());
    s.all.push_back(std::move(*c));
  }
  return db;
}

const std::string& Db::announce_sql() const { return s_->engine.announce; }

Db::Counters Db::counters() {
  std::lock_guard lk(s_->mu);
  Counters c = s_->counters;
  c.readers = std::max(1, s_->engine.readers);
  c.idle_readers = int(s_->idle_readers.size());
  c.queued_writes = int(s_->queue.size());
  return c;
}

Status Db::read(FnRef<Status(Tx&)> op) {
  State& s = *s_;
  Connection* c = nullptr;
  {
    std::unique_lock lk(s.mu);
    if (s.idle_readers.empty()) s.counters.read_waits++;
    if (!s.readers_cv.wait_for(lk, std::chrono::milliseconds(s.engine.pool_wait_ms), [&] { return !s.idle_readers.empty(); })) {
      s.counters.read_timeouts++;
      return retry_later(Code::unavailable, "All database connections are busy; retry shortly");
    }
    c = s.idle_readers.back();
    s.idle_readers.pop_back();
  }
  struct GiveBack {
    State& s;
    Connection* c;
    ~GiveBack() {
      {
        std::lock_guard lk(s.mu);
        s.idle_readers.push_back(c);
      }
      s.readers_cv.notify_one();
    }
  } give_back{s, c};
  Status st;
  if (c->broken()) st = c->reset();
  if (st.ok()) {
    Tx tx(*c);
    st = op(tx);
    if (!st.ok() && c->broken() && c->reset().ok()) {  // the server restarted under us: a read is safe to repeat
      Tx again(*c);
      st = op(again);
    }
  }
  return st;
}

// The writer connection goes to the first queued write (which leads next), or back to the pool.
// Called with s.mu held.
void Db::hand_over(State& s, Connection* c) {
  if (!s.queue.empty()) {
    Op* next = s.queue.front();
    s.queue.pop_front();
    next->lead = c;
    next->woken.release();
  } else {
    s.idle_writers.push_back(c);
  }
}

Status Db::write(FnRef<Status(Tx&)> fn) {
  State& s = *s_;
  Op self(fn);
  Connection* c = nullptr;
  std::unique_lock lk(s.mu);
  if (!s.idle_writers.empty()) {  // a free lane (then nobody is queued): lead at once
    c = s.idle_writers.back();
    s.idle_writers.pop_back();
  } else {
    s.queue.push_back(&self);
    lk.unlock();
    self.woken.acquire();
    if (self.done) return std::move(self.result);
    c = self.lead;  // handed the lead and a connection
    lk.lock();
  }
  // Lead: commit our batch, then keep committing what queued up meanwhile for a few more batches
  // (a leader that is already running is faster than waking another), then hand over.
  std::vector<Op*> batch;
  for (int round = 0; round < kLeadRounds; round++) {
    batch.clear();
    if (round == 0) batch.push_back(&self);
    while (!s.queue.empty() && int(batch.size()) < s.engine.max_batch) {
      batch.push_back(s.queue.front());
      s.queue.pop_front();
    }
    if (batch.empty()) break;
    lk.unlock();
    const auto began = std::chrono::steady_clock::now();
    try {
      s.run_batch(*c, batch);
    } catch (...) {  // an operation threw: nothing of the batch commits, and the lane goes on
      try {
        rollback(*c);
      } catch (...) {
      }
      for (Op* op : batch) {
        if (op == &self) continue;
        op->result = error(Code::internal, "A database operation failed; nothing was written");
        op->finish();
      }
      lk.lock();
      hand_over(s, c);
      throw;
    }
    if (s.engine.committed) s.engine.committed();
    for (Op* op : batch)
      if (op != &self) op->finish();
    const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - began).count();
    lk.lock();
    s.counters.commits++;
    s.counters.operations += int64_t(batch.size());
    s.counters.commit_us_total += us;
    for (size_t i = 0; i < kCommitBucketsUs.size(); i++)
      if (us <= kCommitBucketsUs[i]) s.counters.commit_buckets[i]++;
  }
  if (s.engine.maintain) {
    lk.unlock();
    s.engine.maintain(*c);
    lk.lock();
  }
  hand_over(s, c);
  return std::move(self.result);
}

void Db::State::run_batch(Connection& c, std::vector<Op*>& batch) {
  // settled[i]: op i's outcome is final whatever happens to the rest (it failed and wrote nothing).
  std::vector<bool> settled(batch.size(), false);
  thread_local std::minstd_rand jitter(std::random_device{}());
  for (int attempt = 0;; attempt++) {
    bool rerun = false;
    Status st = run_once(c, batch, settled, attempt > 0, rerun);
    if (!rerun) {
      for (size_t i = 0; i < batch.size(); i++)
        if (!settled[i] && !st.ok()) batch[i]->result = st;
      return;
    }
    {
      std::lock_guard lk(mu);
      counters.reruns++;
    }
    if (attempt + 1 >= kAttempts) {
      for (size_t i = 0; i < batch.size(); i++)
        if (!settled[i]) batch[i]->result = retry_later(Code::unavailable, "The database is busy; retry shortly");
      return;
    }
    if (attempt > 0)  // a re-run failed for another reason (connection reset): back off a little
      std::this_thread::sleep_for(std::chrono::microseconds(200 * attempt + int(jitter() % 1000)));
  }
}

// One attempt at the batch: BEGIN, each op in turn, COMMIT. Sets `rerun` when the transaction must
// be run again; returns the failure to give every op that is not settled when it cannot be.
Status Db::State::run_once(Connection& c, std::vector<Op*>& batch, std::vector<bool>& settled, bool alone_writer,
                           bool& rerun) {
  if (c.broken()) VARG_TRY(c.reset());
  if (Status b = c.exec(alone_writer ? engine.begin_alone : engine.begin); !b.ok()) {
    if (c.lost_race() || (c.broken() && c.reset().ok())) rerun = true;
    return b;
  }
  bool any = false;
  for (size_t i = 0; i < batch.size(); i++) {
    if (settled[i]) continue;
    Tx tx(c);
    Status st = batch[i]->fn(tx);
    if (tx.wants_retry() || (!st.ok() && c.broken())) {
      rollback(c);
      rerun = !c.broken() || c.reset().ok();
      return st;
    }
    if (st.ok()) {
      batch[i]->result = Status::Ok();
      any = true;
      continue;
    }
    batch[i]->result = st;
    settled[i] = true;
    // Left out as it is when it changed nothing and the transaction can go on.
    if (tx.wrote() || !c.transaction_usable()) {
      rollback(c);
      rerun = std::count(settled.begin(), settled.end(), false) > 0;
      return st;
    }
  }
  if (!any) {
    rollback(c);
    return Status::Ok();
  }
  Status commit = c.exec("COMMIT");
  if (commit.ok()) return commit;
  if (c.lost_race()) {  // a serialization failure reported at commit: nothing was written
    rollback(c);
    rerun = true;
    return commit;
  }
  if (c.broken()) {
    c.reset();
    return retry_later(Code::unavailable, "The database connection was lost while committing; the outcome is unknown, retry");
  }
  rollback(c);
  return commit;
}

}  // namespace varg::sql
