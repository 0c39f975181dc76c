// SqlStore's ledger: append-only lines and the accounts projection (settled, reserved) kept
// equal to their sum, with CHECK (settled - reserved >= 0) in both schemas as the last line of
// defense. Every rule runs inside one serial write (store/sql/db.h), so a check and the write it
// guards cannot be separated by another writer on either engine.
#include <cstdio>

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

// Each check is one query whose rows are the accounts or holds that break a rule. One read
// connection; on PostgreSQL each statement sees its own snapshot, so a busy database may show a
// job that moved between two checks — run verify again before acting on one problem.
Result<Store::Audit> SqlStore::audit() {
  Audit a;
  static constexpr const char* kSettled =
      "CAST(COALESCE(SUM(CASE WHEN kind IN ('grant','purchase','refund','adjustment') THEN amount "
      "WHEN kind = 'capture' THEN -amount ELSE 0 END), 0) AS BIGINT)";
  const std::string settled = std::string("SELECT u.user_id, COALESCE(a.settled, 0), u.s FROM (SELECT user_id, ") + kSettled +
                              " AS s FROM ledger GROUP BY user_id) u LEFT JOIN accounts a ON a.user_id = u.user_id "
                              "WHERE COALESCE(a.settled, 0) <> u.s "
                              "UNION ALL SELECT a.user_id, a.settled, 0 FROM accounts a WHERE a.settled <> 0 AND "
                              "NOT EXISTS (SELECT 1 FROM ledger l WHERE l.user_id = a.user_id)";
  struct Check {
    std::string sql;
    const char* what;  // printf-like: the row's three columns
  };
  const Check checks[] = {
      {settled, "account %s: balance %s is not the sum of its ledger entries (%s)"},
      {"SELECT a.user_id, a.reserved, COALESCE(h.s, 0) FROM accounts a LEFT JOIN (SELECT user_id, "
       "CAST(SUM(amount) AS BIGINT) AS s FROM holds GROUP BY user_id) h ON h.user_id = a.user_id "
       "WHERE a.reserved <> COALESCE(h.s, 0)",
       "account %s: %s credits reserved, but its holds add up to %s"},
      {"SELECT a.user_id, a.active, COALESCE(j.n, 0) FROM accounts a LEFT JOIN (SELECT user_id, "
       "CAST(COUNT(*) AS BIGINT) AS n FROM jobs WHERE status IN ('queued', 'processing') GROUP BY user_id) j "
       "ON j.user_id = a.user_id WHERE a.active <> COALESCE(j.n, 0)",
       "account %s: counts %s active jobs, but %s are queued or processing"},
      {"SELECT h.reservation, h.amount, h.job_id FROM holds h LEFT JOIN jobs j ON j.id = h.job_id "
       "WHERE j.id IS NULL OR j.status NOT IN ('queued', 'processing')",
       "hold %s of %s credits has no live job (%s); vargd releases it a minute after start"},
  };
  Status st = db().read([&](Tx& t) -> Status {
    for (const Check& c : checks) {
      auto r = t.run(c.sql);
      if (!r.ok()) return r.status();
      for (int i = 0; i < r->size(); i++) {
        char line[512];
        std::snprintf(line, sizeof line, c.what, r->text(i, 0).c_str(), r->text(i, 1).c_str(), r->text(i, 2).c_str());
        a.problems.emplace_back(line);
      }
    }
    auto n = t.run("SELECT (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM ledger), (SELECT COUNT(*) FROM jobs), "
                   "(SELECT COUNT(*) FROM holds)");
    if (!n.ok()) return n.status();
    a.accounts = n->i64(0, 0);
    a.entries = n->i64(0, 1);
    a.jobs = n->i64(0, 2);
    a.holds = n->i64(0, 3);
    auto files = t.run("SELECT hash FROM files");
    if (!files.ok()) return files.status();
    for (int i = 0; i < files->size(); i++) a.file_hashes.push_back(files->text(i, 0));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return a;
}

Status SqlStore::backup(const std::string&) {
  return error(Code::invalid, "vargd admin backup copies SQLite databases; back PostgreSQL up with pg_dump or "
                              "pg_basebackup (docs/operations.md)");
}

}  // namespace varg
