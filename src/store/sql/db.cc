#include "store/sql/db.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <semaphore>
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
  if (!r.ok() && c_.lost_race()) retry_ = true;
  return r;
}

Status Tx::retry() {
  retry_ = true;
  return error(Code::unavailable, "The database is busy; retry shortly");
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

// ---- db ----

namespace {

// A write waiting for its group commit. The semaphore is released either when the operation's
// outcome is final (done) or to hand it the lead together with a free writer connection.
struct Op {
  FnRef<Status(Tx&)> fn;
  Status result;
  bool done = false;
  Connection* lead = nullptr;
  std::binary_semaphore sem{0};
  explicit Op(FnRef<Status(Tx&)> f) : fn(f) {}
};

constexpr int kAttempts = 12;

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
    (writer ? s.idle_writers : s.idle_readers).push_back(c->get());
    s.all.push_back(std::move(*c));
  }
  return db;
}

Db::Counters Db::counters() {
  std::lock_guard lk(s_->mu);
  return s_->counters;
}

Status Db::read(FnRef<Status(Tx&)> op) {
  State& s = *s_;
  Connection* c = nullptr;
  {
    std::unique_lock lk(s.mu);
    if (!s.readers_cv.wait_for(lk, std::chrono::milliseconds(s.engine.pool_wait_ms), [&] { return !s.idle_readers.empty(); }))
      return error(Code::unavailable, "All database connections are busy; retry shortly");
    c = s.idle_readers.back();
    s.idle_readers.pop_back();
  }
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
  {
    std::lock_guard lk(s.mu);
    s.idle_readers.push_back(c);
  }
  s.readers_cv.notify_one();
  return st;
}

Status Db::write(FnRef<Status(Tx&)> fn) {
  State& s = *s_;
  Op self(fn);
  Connection* c = nullptr;
  {
    std::unique_lock lk(s.mu);
    if (!s.idle_writers.empty()) {  // a free lane (then nobody is queued): lead at once
      c = s.idle_writers.back();
      s.idle_writers.pop_back();
    } else {
      s.queue.push_back(&self);
    }
  }
  if (!c) {
    self.sem.acquire();
    if (self.done) return std::move(self.result);
    c = self.lead;  // handed the lead and a connection
  }
  std::vector<Op*> batch{&self};
  {
    std::lock_guard lk(s.mu);
    while (!s.queue.empty() && int(batch.size()) < s.engine.max_batch) {
      batch.push_back(s.queue.front());
      s.queue.pop_front();
    }
  }
  s.run_batch(*c, batch);
  Op* next = nullptr;
  {
    std::lock_guard lk(s.mu);
    s.counters.commits++;
    s.counters.operations += int64_t(batch.size());
    if (!s.queue.empty()) {
      next = s.queue.front();
      s.queue.pop_front();
      next->lead = c;
    } else {
      s.idle_writers.push_back(c);
    }
  }
  if (next) next->sem.release();
  for (size_t i = 1; i < batch.size(); i++) {
    batch[i]->done = true;
    batch[i]->sem.release();
  }
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
        if (!settled[i]) batch[i]->result = error(Code::unavailable, "The database is busy; retry shortly");
      return;
    }
    if (attempt > 0)  // a re-run failed for another reason (connection reset): back off a little
      std::this_thread::sleep_for(std::chrono::microseconds(200 * attempt + int(jitter() % 1000)));
  }
}

// One attempt at the batch: BEGIN, each op in a savepoint (none for a lone op), COMMIT. Sets
// `rerun` when the transaction must be run again; returns the failure to give every op that is
// not settled when it cannot be.
Status Db::State::run_once(Connection& c, std::vector<Op*>& batch, std::vector<bool>& settled, bool alone_writer,
                           bool& rerun) {
  if (c.broken()) VARG_TRY(c.reset());
  if (Status b = c.exec(alone_writer ? engine.begin_alone : engine.begin); !b.ok()) {
    if (c.lost_race() || (c.broken() && c.reset().ok())) rerun = true;
    return b;
  }
  bool any = false;
  const bool alone = std::count(settled.begin(), settled.end(), false) == 1;
  for (size_t i = 0; i < batch.size(); i++) {
    if (settled[i]) continue;
    if (!alone) {
      if (Status sp = c.exec("SAVEPOINT op"); !sp.ok()) {
        c.exec("ROLLBACK");
        rerun = c.lost_race() || (c.broken() && c.reset().ok());
        return sp;
      }
    }
    Tx tx(c);
    Status st = batch[i]->fn(tx);
    if (tx.wants_retry() || (!st.ok() && c.broken())) {
      c.exec("ROLLBACK");
      rerun = !c.broken() || c.reset().ok();
      return st;
    }
    if (!st.ok()) {
      batch[i]->result = st;
      settled[i] = true;
      if (alone) {
        c.exec("ROLLBACK");
        return Status::Ok();
      }
      // Undo this op alone. If the engine already dropped the whole transaction (disk full, I/O
      // error), the others' work is gone with it: run them again without this one.
      if (!c.in_transaction() || !c.exec("ROLLBACK TO op").ok() || !c.exec("RELEASE op").ok()) {
        if (c.in_transaction()) c.exec("ROLLBACK");
        rerun = std::count(settled.begin(), settled.end(), false) > 0;
        return st;
      }
      continue;
    }
    if (!alone && !c.exec("RELEASE op").ok()) {
      c.exec("ROLLBACK");
      rerun = c.lost_race() || (c.broken() && c.reset().ok());
      return error(Code::unavailable, "The database is busy; retry shortly");
    }
    batch[i]->result = Status::Ok();
    any = true;
  }
  if (!any) {
    c.exec("ROLLBACK");
    return Status::Ok();
  }
  Status commit = c.exec("COMMIT");
  if (commit.ok()) return commit;
  if (c.lost_race()) {  // a serialization failure reported at commit: nothing was written
    c.exec("ROLLBACK");
    rerun = true;
    return commit;
  }
  if (c.broken()) {
    c.reset();
    return error(Code::unavailable, "The database connection was lost while committing; the outcome is unknown, retry");
  }
  if (c.in_transaction()) c.exec("ROLLBACK");
  return commit;
}

}  // namespace varg::sql
