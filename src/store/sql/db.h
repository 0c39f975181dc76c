// The layer under SqlStore: one SQL text for both engines (`?` placeholders, standard SQL that
// SQLite ≥ 3.35 and PostgreSQL both run), a driver Connection per engine, and Db, which runs
// reads on a pool and writes by group commit.
//
// Writes are written as if they ran alone: Db::write runs each in a transaction that is serial
// with every other write — on SQLite because one writer connection holds the write lock (BEGIN
// IMMEDIATE), on PostgreSQL because write transactions are SERIALIZABLE and run again when the
// server reports a conflict. Concurrent writes are batched: one caller (the leader) runs the
// queued operations in one transaction, commits once, and only then answers every caller. A
// failed operation leaves no trace: one that failed before changing a row is simply left out;
// one that changed rows (or hit a statement error) makes the batch roll back and run again
// without it. A transaction that lost a race runs again as the only writer, so it cannot lose
// twice.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/status.h"

namespace varg::sql {

// A statement parameter. Text is a view: the caller's string outlives the statement.
class Value {
 public:
  enum Kind { null, integer, text };
  Value() = default;
  Value(int64_t v) : kind_(integer), i_(v) {}
  Value(int v) : kind_(integer), i_(v) {}
  Value(bool v) : kind_(integer), i_(v ? 1 : 0) {}
  Value(std::string_view v) : kind_(text), s_(v) {}
  Value(const std::string& v) : kind_(text), s_(v) {}
  Value(const char* v) : kind_(text), s_(v) {}
  template <class T>
  Value(const std::optional<T>& v) {
    if (v) *this = Value(*v);
  }
  Kind kind() const { return kind_; }
  int64_t i64() const { return i_; }
  std::string_view str() const { return s_; }

 private:
  Kind kind_ = null;
  int64_t i_ = 0;
  std::string_view s_;
};

// A finished statement's rows (materialized), read by row and column index.
class Rows {
 public:
  struct Cell {
    bool is_null = true, is_int = false;
    int64_t i = 0;
    std::string s;
  };
  Rows() = default;
  Rows(int columns, int64_t affected) : cols_(columns), affected_(affected) {}
  int size() const { return cols_ ? int(cells_.size() / size_t(cols_)) : 0; }
  bool empty() const { return size() == 0; }
  int64_t affected() const { return affected_; }  // rows written by INSERT/UPDATE/DELETE
  bool null(int r, int c) const { return at(r, c).is_null; }
  int64_t i64(int r, int c) const;
  std::string text(int r, int c) const;
  bool boolean(int r, int c) const;
  std::optional<int64_t> opt_i64(int r, int c) const;
  std::optional<std::string> opt_text(int r, int c) const;

  std::vector<Cell>& cells() { return cells_; }  // for drivers

 private:
  const Cell& at(int r, int c) const { return cells_[size_t(r) * size_t(cols_) + size_t(c)]; }
  int cols_ = 0;
  int64_t affected_ = 0;
  std::vector<Cell> cells_;
};

// One engine connection. Failures are Statuses; a unique-key violation is Code::conflict.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Result<Rows> run(std::string_view sql, std::span<const Value> params) = 0;
  // Statements without parameters (BEGIN, SAVEPOINT, COMMIT, migrations).
  virtual Status exec(const std::string& sql) = 0;
  // The last failure says the transaction lost a race (serialization failure, deadlock) and must
  // be run again from the start.
  virtual bool lost_race() const = 0;
  // The connection is gone (server restart): reset() before the next use.
  virtual bool broken() = 0;
  virtual Status reset() = 0;
  // A transaction is open (false after the engine rolled one back by itself, e.g. disk full).
  virtual bool in_transaction() = 0;
  // It is open and can go on: SQLite undoes a failed statement by itself, PostgreSQL aborts the
  // whole transaction on any statement error (then only ROLLBACK is accepted).
  virtual bool transaction_usable() = 0;
};

// The handle a write or read operation gets: statements, and a way to ask for a re-run.
class Tx {
 public:
  explicit Tx(Connection& c) : c_(c) {}
  Result<Rows> run(std::string_view sql, std::initializer_list<Value> params = {});
  // Asks Db to roll back and run the whole transaction again (a concurrent writer got there
  // first and the next attempt will see its row). Return the Status it gives.
  Status retry();
  bool wants_retry() const { return retry_; }
  // Whether a statement changed a row.
  bool wrote() const { return wrote_; }

 private:
  Connection& c_;
  bool retry_ = false, wrote_ = false;
};

// A non-owning reference to a callable, for operations that never outlive the call.
template <class Sig>
class FnRef;
template <class R, class... A>
class FnRef<R(A...)> {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cv_t<F>, FnRef>)
  FnRef(F& f) : obj_(const_cast<void*>(static_cast<const void*>(&f))), call_([](void* o, A... a) -> R { return (*static_cast<F*>(o))(a...); }) {}
  R operator()(A... a) const { return call_(obj_, a...); }

 private:
  void* obj_;
  R (*call_)(void*, A...);
};

// Wraps each new connection (fault injection: the simulation's crashes at any statement).
using ConnectionFilter = std::function<std::unique_ptr<Connection>(std::unique_ptr<Connection>)>;

struct Engine {
  std::function<Result<std::unique_ptr<Connection>>(bool writer)> connect;
  std::string begin;   // the statement that opens a write transaction
  // The one that opens a re-run after a lost race: it must not lose again (on PostgreSQL it
  // waits until it is the only writer; see PostgresStore).
  std::string begin_alone;
  int writers = 1;     // write connections (each a group-commit lane)
  int readers = 4;     // read connections
  int pool_wait_ms = 10000;  // a read waiting longer for a connection is unavailable
  int max_batch = 64;        // operations per group commit
  ConnectionFilter filter;   // optional
  // Announces job ids to every instance inside a write (one `?`: the comma-joined ids); "" when
  // only one process uses the store.
  std::string announce;
  // Optional upkeep on a writer connection, outside any transaction, after a leader's commits
  // (SQLite: bound the WAL). Cheap unless it has work to do; must not throw.
  std::function<void(Connection&)> maintain;
  // Called after each group commit, before its writers return (SqliteStore: tells the other
  // processes on the file that it changed).
  std::function<void()> committed;
};

class Db {
 public:
  static Result<std::unique_ptr<Db>> open(Engine engine);
  ~Db();

  // Runs op in a write transaction (alone or batched with concurrent writes), returning once its
  // outcome is durable: committed, or failed with nothing written.
  Status write(FnRef<Status(Tx&)> op);
  template <class F>
  Status write(F&& f) {
    return write(FnRef<Status(Tx&)>(f));
  }
  // Runs op on a read connection (statements see committed data; no transaction).
  Status read(FnRef<Status(Tx&)> op);
  template <class F>
  Status read(F&& f) {
    return read(FnRef<Status(Tx&)>(f));
  }

  const std::string& announce_sql() const;

  // Upper bounds (µs) of the commit-latency histogram's buckets: BEGIN to COMMIT returned.
  static constexpr std::array<int64_t, 10> kCommitBucketsUs = {500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};
  struct Counters {
    int64_t commits = 0, operations = 0, reruns = 0;
    int64_t commit_us_total = 0;
    std::array<int64_t, kCommitBucketsUs.size()> commit_buckets{};  // cumulative, as Prometheus wants
    int64_t read_waits = 0, read_timeouts = 0;  // reads that found no idle connection / gave up
    int readers = 0, idle_readers = 0, queued_writes = 0;  // now
  };
  Counters counters();

  struct State;

 private:
  explicit Db(Engine e);
  static void hand_over(State& s, Connection* c);
  std::unique_ptr<State> s_;
};

// Applies the numbered migrations not applied yet (step v is steps[v - 1]), each in its own
// transaction opened by `begin` that reads the applied version first, so two processes starting
// together never apply one twice. A database one version newer than `steps` is accepted (a rolling
// upgrade: migrations are additive, docs/operations.md); newer than that is refused.
Status migrate(Connection& c, std::span<const char* const> steps, const std::string& begin);

// Placeholders `?` rewritten as `$1, $2, ...` (outside quotes), for PostgreSQL.
std::string numbered_placeholders(std::string_view sql);

}  // namespace varg::sql
