// SqlStore's ledger: append-only lines and the accounts projection (settled, reserved) kept
// equal to their sum, with CHECK (settled - reserved >= 0) in both schemas as the last line of
// defense. Every rule runs inside one serial write (store/sql/db.h), so a check and the write it
// guards cannot be separated by another writer on either engine.
#include "store/sql_store_internal.h"

namespace varg {

using namespace sqlstore;

namespace sqlstore {

LedgerEntry read_entry(const Rows& r, int i) {
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

namespace {

// The entry an idempotency id already names: a repeat returns it; not_found when there is none.
Result<LedgerEntry> earlier(Tx& t, const LedgerEntry& in) {
  auto q = t.run(std::string(kEntryCols) + "WHERE idempotency_id = ?", {in.idempotency_id});
  if (!q.ok()) return q.status();
  if (q->empty()) return error(Code::not_found, "no such ledger entry");
  LedgerEntry old = read_entry(*q, 0);
  bool same = old.user_id == in.user_id && old.kind == in.kind &&
              (old.amount == in.amount || in.kind == EntryKind::capture || in.kind == EntryKind::release);
  if (!same) return error(Code::conflict, "Idempotency id already used for a different ledger entry");
  return old;
}

}  // namespace

// The hot kinds (reserve, capture, release) spend no statement on looking for a repeat: a repeated
// reserve is found when its balance check or its ledger insert refuses it, a repeated settlement
// when its hold is gone. Three statements each.
Result<LedgerEntry> append_in(Tx& t, const LedgerEntry& in) {
  if (in.idempotency_id.empty()) return error(Code::invalid, "ledger entry needs an idempotency id");
  const bool settles = in.kind == EntryKind::capture || in.kind == EntryKind::release;
  if (!settles && in.kind != EntryKind::reserve) {
    auto old = earlier(t, in);
    if (old.ok() || old.status().code != Code::not_found) return old;
  }
  auto available = [&]() -> int64_t {
    auto a = t.run("SELECT settled - reserved FROM accounts WHERE user_id = ?", {in.user_id});
    return a.ok() && !a->empty() ? a->i64(0, 0) : 0;
  };
  LedgerEntry e = in;
  switch (in.kind) {
    case EntryKind::grant:
    case EntryKind::purchase:
    case EntryKind::refund: {
      if (in.amount <= 0) return error(Code::invalid, "amount must be positive", "credits");
      auto u = t.run("UPDATE accounts SET settled = settled + ? WHERE user_id = ?", {in.amount, in.user_id});
      if (!u.ok()) return u.status();
      if (u->affected() == 0)  // the account's first credit
        VARG_TRY(t.run("INSERT INTO accounts(user_id, settled, reserved) VALUES(?, ?, 0)", {in.user_id, in.amount}));
      break;
    }
    case EntryKind::adjustment: {
      if (in.amount == 0) return error(Code::invalid, "amount must not be zero", "credits");
      auto u = t.run("UPDATE accounts SET settled = settled + ? WHERE user_id = ? AND settled + ? - reserved >= 0",
                     {in.amount, in.user_id, in.amount});
      if (!u.ok()) return u.status();
      if (u->affected() == 0) {
        auto first = in.amount > 0 ? t.run("INSERT INTO accounts(user_id, settled, reserved) VALUES(?, ?, 0) "
                                           "ON CONFLICT DO NOTHING", {in.user_id, in.amount})
                                   : Result<Rows>(Rows());
        if (!first.ok()) return first.status();
        if (first->affected() == 0) return error(Code::insufficient_balance, "Adjustment would make the balance negative");
      }
      break;
    }
    case EntryKind::reserve: {
      if (in.amount <= 0) return error(Code::invalid, "amount must be positive", "credits");
      auto u = t.run("UPDATE accounts SET reserved = reserved + ? WHERE user_id = ? AND settled - reserved >= ?",
                     {in.amount, in.user_id, in.amount});
      if (!u.ok()) return u.status();
      if (u->affected() == 0) {
        auto old = earlier(t, in);
        if (old.ok() || old.status().code != Code::not_found) return old;
        return error(Code::insufficient_balance, "Insufficient balance. Required: " + std::to_string(in.amount) +
                                                     " credits, available: " + std::to_string(available()) + " credits");
      }
      break;
    }
    case EntryKind::capture:
    case EntryKind::release: {
      // Settling takes the hold away: exactly one settlement can find it.
      auto h = t.run("DELETE FROM holds WHERE reservation = ? AND user_id = ? RETURNING amount", {in.ref, in.user_id});
      if (!h.ok()) return h.status();
      if (h->empty()) {  // settled already (by this or the other kind): return that entry
        auto q = t.run(std::string(kEntryCols) + "WHERE ref = ? AND kind IN ('capture', 'release') AND user_id = ?",
                       {in.ref, in.user_id});
        if (!q.ok()) return q.status();
        if (!q->empty()) return read_entry(*q, 0);
        return error(Code::not_found, "No such reservation");
      }
      e.amount = h->i64(0, 0);
      if (in.kind == EntryKind::capture)
        VARG_TRY(t.run("UPDATE accounts SET reserved = reserved - ?, settled = settled - ? WHERE user_id = ?",
                       {e.amount, e.amount, in.user_id}));
      else
        VARG_TRY(t.run("UPDATE accounts SET reserved = reserved - ? WHERE user_id = ?", {e.amount, in.user_id}));
      break;
    }
  }
  // On PostgreSQL a twin of this id or settlement committed after this transaction began is a
  // serialization failure, not a conflict (the batch runs again, and the repeat finds the winner).
  auto ins = t.run("INSERT INTO ledger(user_id, kind, amount, idempotency_id, ref, created_at) VALUES(?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT DO NOTHING RETURNING id",
                   {e.user_id, entry_kind_name(e.kind), e.amount, e.idempotency_id, e.ref, e.created_at});
  if (!ins.ok()) return ins.status();
  if (ins->empty()) {  // the id is taken: only a reserve gets here without having looked
    if (in.kind != EntryKind::reserve)
      return error(Code::conflict, "Idempotency id already used for a different ledger entry");
    VARG_TRY(t.run("UPDATE accounts SET reserved = reserved - ? WHERE user_id = ?", {in.amount, in.user_id}));
    return earlier(t, in);  // a failure here wrote (and undid) a row: its batch runs again without it
  }
  e.id = ins->i64(0, 0);
  if (in.kind == EntryKind::reserve)
    VARG_TRY(t.run("INSERT INTO holds(reservation, user_id, job_id, amount, created_at) VALUES(?, ?, ?, ?, ?)",
                   {in.idempotency_id, in.user_id, in.ref, in.amount, in.created_at}));
  return e;
}

}  // namespace sqlstore

Result<LedgerEntry> SqlStore::append(const LedgerEntry& in) {
  Result<LedgerEntry> out;
  VARG_TRY(db().write([&](Tx& t) -> Status {
    out = append_in(t, in);
    return out.status();
  }));
  return out;
}

namespace {
Balance read_balance(const Rows& r, int i) { return Balance{r.i64(i, 0), r.i64(i, 1)}; }

Result<Balance> balance_or_zero(Result<Balance> b) {
  if (!b.ok() && b.status().code == Code::not_found) return Balance{};
  return b;
}
}  // namespace

Result<Balance> SqlStore::balance(int64_t user_id) {
  return balance_or_zero(
      read_one(db(), "", "SELECT settled, reserved FROM accounts WHERE user_id = ?", {user_id}, read_balance));
}

Result<Balance> SqlStore::ledger_sum(int64_t user_id) {
  return balance_or_zero(read_one(
      db(), "",
      "SELECT CAST(COALESCE(SUM(CASE WHEN kind IN ('grant','purchase','refund','adjustment') THEN amount "
      "WHEN kind = 'capture' THEN -amount ELSE 0 END), 0) AS BIGINT), "
      "CAST(COALESCE(SUM(CASE kind WHEN 'reserve' THEN amount WHEN 'capture' THEN -amount "
      "WHEN 'release' THEN -amount ELSE 0 END), 0) AS BIGINT) FROM ledger WHERE user_id = ?",
      {user_id}, read_balance));
}

Result<std::vector<LedgerEntry>> SqlStore::entries(int64_t user_id, int limit) {
  return read_all(db(), std::string(kEntryCols) + "WHERE user_id = ? ORDER BY id DESC LIMIT ?", {user_id, int64_t(limit)},
                  read_entry);
}

}  // namespace varg
