// PostgresStore's ledger: SqliteStore's semantics (exactly-once settlement, the accounts
// projection with CHECK (settled - reserved >= 0)) on PostgreSQL. A reservation is one conditional
// UPDATE; concurrent twins of one idempotency id or settlement meet at a unique index, and the
// loser's transaction is run again and returns the winner's entry.
#include "store/postgres/postgres_internal.h"

namespace varg {

namespace pg {

Result<LedgerEntry> append_in(Conn& c, const LedgerEntry& in) {
  if (in.idempotency_id.empty()) return error(Code::invalid, "ledger entry needs an idempotency id");
  {  // a repeat of an entry already written returns it
    auto q = c.run(std::string(kEntryCols) + "WHERE idempotency_id = $1", Params().add(in.idempotency_id));
    if (!q.ok()) return q.status();
    if (!q->empty()) {
      LedgerEntry old = read_entry(*q, 0);
      bool same = old.user_id == in.user_id && old.kind == in.kind &&
                  (old.amount == in.amount || in.kind == EntryKind::capture || in.kind == EntryKind::release);
      if (!same) return error(Code::conflict, "Idempotency id already used for a different ledger entry");
      return old;
    }
  }
  {
    auto a = c.run("INSERT INTO accounts(user_id) VALUES($1) ON CONFLICT (user_id) DO NOTHING", Params().add(in.user_id));
    if (!a.ok()) return a.status();
  }
  LedgerEntry e = in;
  switch (in.kind) {
    case EntryKind::grant:
    case EntryKind::purchase:
    case EntryKind::refund: {
      if (in.amount <= 0) return error(Code::invalid, "amount must be positive", "credits");
      auto u = c.run("UPDATE accounts SET settled = settled + $1 WHERE user_id = $2", Params().add(in.amount).add(in.user_id));
      if (!u.ok()) return u.status();
      break;
    }
    case EntryKind::adjustment: {
      if (in.amount == 0) return error(Code::invalid, "amount must not be zero", "credits");
      auto u = c.run("UPDATE accounts SET settled = settled + $1 WHERE user_id = $2 AND settled + $1 - reserved >= 0",
                     Params().add(in.amount).add(in.user_id));
      if (!u.ok()) return u.status();
      if (u->affected() == 0) return error(Code::insufficient_balance, "Adjustment would make the balance negative");
      break;
    }
    case EntryKind::reserve: {
      if (in.amount <= 0) return error(Code::invalid, "amount must be positive", "credits");
      // One conditional write: the check and the hold cannot be separated by another writer (the
      // row lock makes a concurrent reserve wait, then re-check the condition on the new row).
      auto u = c.run("UPDATE accounts SET reserved = reserved + $1 WHERE user_id = $2 AND settled - reserved >= $1",
                     Params().add(in.amount).add(in.user_id));
      if (!u.ok()) return u.status();
      if (u->affected() == 0) {
        auto a = c.run("SELECT settled - reserved FROM accounts WHERE user_id = $1", Params().add(in.user_id));
        const int64_t available = a.ok() && !a->empty() ? a->i64(0, 0) : 0;
        return error(Code::insufficient_balance, "Insufficient balance. Required: " + std::to_string(in.amount) +
                                                     " credits, available: " + std::to_string(available) + " credits");
      }
      break;
    }
    case EntryKind::capture:
    case EntryKind::release: {
      auto r = c.run(std::string(kEntryCols) + "WHERE idempotency_id = $1 AND kind = 'reserve'", Params().add(in.ref));
      if (!r.ok()) return r.status();
      if (r->empty()) return error(Code::not_found, "No such reservation");
      LedgerEntry hold = read_entry(*r, 0);
      if (hold.user_id != in.user_id) return error(Code::not_found, "No such reservation");
      {  // settled already (by this or the other kind): exactly once, so return that entry
        auto q = c.run(std::string(kEntryCols) + "WHERE ref = $1 AND kind IN ('capture', 'release')", Params().add(in.ref));
        if (!q.ok()) return q.status();
        if (!q->empty()) return read_entry(*q, 0);
      }
      e.amount = hold.amount;
      auto u = c.run(in.kind == EntryKind::capture
                         ? "UPDATE accounts SET reserved = reserved - $1, settled = settled - $1 WHERE user_id = $2"
                         : "UPDATE accounts SET reserved = reserved - $1 WHERE user_id = $2",
                     Params().add(e.amount).add(in.user_id));
      if (!u.ok()) return u.status();
      break;
    }
  }
  auto ins = c.run(
      "INSERT INTO ledger(user_id, kind, amount, idempotency_id, ref, created_at) VALUES($1, $2, $3, $4, $5, $6) "
      "RETURNING id",
      Params().add(e.user_id).add(entry_kind_name(e.kind)).add(e.amount).add(e.idempotency_id).add(e.ref).add(e.created_at));
  if (!ins.ok()) return ins.status();  // a unique violation here means a twin won: the caller runs again
  e.id = ins->i64(0, 0);
  return e;
}

}  // namespace pg

using pg::Conn;
using pg::Params;

Result<LedgerEntry> PostgresStore::append(const LedgerEntry& in) {
  // Safe to repeat after a lost connection: the idempotency id makes a second run return the first.
  return call(true, [&](Conn& c) { return pg::transact(c, true, [&](Conn& t) { return pg::append_in(t, in); }); });
}

namespace {
Result<Balance> read_balance(Conn& c, const char* sql, int64_t user_id) {
  auto r = c.run(sql, Params().add(user_id));
  if (!r.ok()) return r.status();
  if (r->empty()) return Balance{};
  return Balance{r->i64(0, 0), r->i64(0, 1)};
}
}  // namespace

Result<Balance> PostgresStore::balance(int64_t user_id) {
  return call(true, [&](Conn& c) { return read_balance(c, "SELECT settled, reserved FROM accounts WHERE user_id = $1", user_id); });
}

Result<Balance> PostgresStore::ledger_sum(int64_t user_id) {
  return call(true, [&](Conn& c) {
    return read_balance(c,
                        "SELECT COALESCE(SUM(CASE WHEN kind IN ('grant','purchase','refund','adjustment') THEN amount "
                        "WHEN kind = 'capture' THEN -amount ELSE 0 END), 0)::BIGINT, "
                        "COALESCE(SUM(CASE kind WHEN 'reserve' THEN amount WHEN 'capture' THEN -amount "
                        "WHEN 'release' THEN -amount ELSE 0 END), 0)::BIGINT FROM ledger WHERE user_id = $1",
                        user_id);
  });
}

Result<std::vector<LedgerEntry>> PostgresStore::entries(int64_t user_id, int limit) {
  return call(true, [&](Conn& c) -> Result<std::vector<LedgerEntry>> {
    auto r = c.run(std::string(pg::kEntryCols) + "WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
                   Params().add(user_id).add(int64_t(limit)));
    if (!r.ok()) return r.status();
    std::vector<LedgerEntry> out;
    for (int i = 0; i < r->size(); i++) out.push_back(pg::read_entry(*r, i));
    return out;
  });
}

}  // namespace varg
