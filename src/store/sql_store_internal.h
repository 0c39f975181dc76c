// Shared by SqlStore's translation units: one-statement read and write helpers, and the rules
// that other rules run inside their own transaction. Not a public header.
#pragma once
#include "store/sql_store.h"

namespace varg::sqlstore {

using sql::Rows;
using sql::Tx;
using Params = std::initializer_list<sql::Value>;

// The first row of a query read by `row`, or not_found with `missing`.
template <class F>
auto read_one(sql::Db& db, const char* missing, std::string_view q, Params p, F row)
    -> Result<decltype(row(std::declval<const Rows&>(), 0))> {
  Result<decltype(row(std::declval<const Rows&>(), 0))> out = error(Code::not_found, missing);
  Status st = db.read([&](Tx& t) -> Status {
    auto r = t.run(q, p);
    if (!r.ok()) return r.status();
    if (!r->empty()) out = row(*r, 0);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

// Every row of a query, each read by `row`.
template <class F>
auto read_all(sql::Db& db, std::string_view q, Params p, F row)
    -> Result<std::vector<decltype(row(std::declval<const Rows&>(), 0))>> {
  std::vector<decltype(row(std::declval<const Rows&>(), 0))> out;
  Status st = db.read([&](Tx& t) -> Status {
    auto r = t.run(q, p);
    if (!r.ok()) return r.status();
    out.clear();
    for (int i = 0; i < r->size(); i++) out.push_back(row(*r, i));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

// One write statement; not_found with `missing` when it changed no row (unless missing is null).
inline Status write_one(sql::Db& db, std::string_view q, Params p, const char* missing = nullptr) {
  return db.write([&](Tx& t) -> Status {
    auto r = t.run(q, p);
    if (!r.ok()) return r.status();
    if (missing && r->affected() == 0) return error(Code::not_found, missing);
    return Status::Ok();
  });
}

// A conditional write's outcome: whether it changed a row.
inline Result<bool> write_changed(sql::Db& db, std::string_view q, Params p) {
  bool changed = false;
  VARG_TRY(db.write([&](Tx& t) -> Status {
    auto r = t.run(q, p);
    if (!r.ok()) return r.status();
    changed = r->affected() > 0;
    return Status::Ok();
  }));
  return changed;
}

// An idempotency record's scope: (account, API key, route, Idempotency-Key).
inline constexpr const char* kIdemScope = "user_id = ? AND api_key_id = ? AND route = ? AND key = ?";

inline constexpr const char* kEntryCols = "SELECT id, user_id, kind, amount, idempotency_id, ref, created_at FROM ledger ";
LedgerEntry read_entry(const Rows& r, int i);

// A job's webhook, inside the admission's write (sql_webhooks.cc).
Status insert_webhook_in(Tx& t, const WebhookDelivery& d);

// The ledger rule, inside the caller's write (sql_ledger.cc).
Result<LedgerEntry> append_in(Tx& t, const LedgerEntry& in);

}  // namespace varg::sqlstore
