// Shared by PostgresStore's translation units: the pooled-connection lease, the call and
// transaction wrappers, and row readers. Not a public header.
#pragma once
#include "store/postgres/pg_conn.h"
#include "store/postgres/postgres_store.h"

namespace varg {

class PostgresStore::Lease {
 public:
  Lease(PostgresStore* s, pg::Conn* c) : store_(s), c_(c) {}
  Lease(Lease&& o) noexcept : store_(o.store_), c_(o.c_) { o.c_ = nullptr; }
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (c_) store_->give_back(c_);
  }
  pg::Conn& operator*() { return *c_; }

 private:
  PostgresStore* store_;
  pg::Conn* c_;
};

template <class F>
auto PostgresStore::call(bool retry_safe, F&& fn) -> decltype(fn(std::declval<pg::Conn&>())) {
  auto c = lease();
  if (!c.ok()) return c.status();
  pg::Conn& conn = **c;
  auto r = fn(conn);
  if (!r.ok() && retry_safe && conn.broken()) {
    if (!conn.reset().ok()) return r;
    r = fn(conn);
  }
  return r;
}

namespace pg {

// Runs fn(conn) between BEGIN and COMMIT (READ COMMITTED). The whole transaction is run again on
// a serialization failure or deadlock and, when `unique_race`, on a unique violation: a concurrent
// twin inserted the same row first, and the next attempt finds it. Rolls back unless committed.
template <class F>
auto transact(Conn& c, bool unique_race, F&& fn) -> decltype(fn(c)) {
  for (int attempt = 0;; attempt++) {
    if (Status b = c.exec("BEGIN"); !b.ok()) return b;
    auto r = fn(c);
    if (r.ok()) {
      Status s = c.exec("COMMIT");
      if (s.ok()) return r;
      r = s;
    } else {
      const std::string state = c.sqlstate();
      c.exec("ROLLBACK");
      if (attempt < 8 && !c.broken() && (retryable(state) || (unique_race && state == kUniqueViolation))) continue;
      return r;
    }
    if (attempt >= 8 || c.broken() || !retryable(c.sqlstate())) return r;
  }
}

inline User read_user(const Rows& r, int i) { return User{r.i64(i, 0), r.text(i, 1), r.i64(i, 2)}; }

inline constexpr const char* kKeyCols =
    "SELECT id, user_id, name, prefix, hash, permissions, created_at, last_used_at, expires_at, revoked_at "
    "FROM api_keys ";

inline ApiKeyRecord read_key(const Rows& r, int i) {
  ApiKeyRecord k;
  k.id = r.i64(i, 0);
  k.user_id = r.i64(i, 1);
  k.name = r.text(i, 2);
  k.prefix = r.text(i, 3);
  k.hash = r.text(i, 4);
  k.permissions = r.opt_text(i, 5);
  k.created_at = r.i64(i, 6);
  k.last_used_at = r.opt_i64(i, 7);
  k.expires_at = r.opt_i64(i, 8);
  k.revoked_at = r.opt_i64(i, 9);
  return k;
}

inline constexpr const char* kEntryCols = "SELECT id, user_id, kind, amount, idempotency_id, ref, created_at FROM ledger ";

inline LedgerEntry read_entry(const Rows& r, int i) {
  LedgerEntry e;
  e.id = r.i64(i, 0);
  e.user_id = r.i64(i, 1);
  e.kind = entry_kind_from(r.text(i, 2)).value_or(EntryKind::adjustment);
  e.amount = r.i64(i, 3);
  e.idempotency_id = r.text(i, 4);
  e.ref = r.text(i, 5);
  e.created_at = r.i64(i, 6);
  return e;
}

// The ledger append and the job update, inside the caller's transaction (postgres_ledger.cc).
Result<LedgerEntry> append_in(Conn& c, const LedgerEntry& in);
Result<bool> update_job_in(Conn& c, const JobRecord& j, const std::string& expected);
// The schema (postgres_schema.cc).
Status migrate(Conn& c);

}  // namespace pg
}  // namespace varg
