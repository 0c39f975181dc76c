// SqliteStore: the embedded Store. SqlStore's rules on one SQLite file in WAL mode: one writer
// connection (synchronous=FULL, so no committed write is lost on power failure; group commit
// keeps it fast), a pool of readers, and numbered migrations applied at open. Safe to share one
// file between a running vargd and `vargd admin` commands. The WAL stays bounded: SQLite's own
// checkpoints run on commits but cannot restart the WAL while some reader always holds a
// snapshot, so past kWalLimit the writer lane runs a TRUNCATE checkpoint between group commits (a
// stat of the WAL file after each), which waits only for the readers that started before it.
#pragma once
#include <memory>
#include <string>

#include "store/balance_cache.h"
#include "store/sql_store.h"

namespace varg {

class SqliteStore final : public SqlStore {
 public:
  // Opens (creating if needed) the database file and applies pending migrations; `connections`
  // is the number of readers.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path, int connections,
                                                  sql::ConnectionFilter filter = {});

  static constexpr int64_t kWalLimit = 8 << 20;  // bytes of WAL file that trigger a truncating checkpoint

  ~SqliteStore() override;

  // Balances from memory (store/balance_cache.h) until anything is written to the database by any
  // process on the file — this one, another vargd, `vargd admin`. Every SqliteStore increments a
  // counter in a shared mapping of <db>-changes after each commit and before its writers return;
  // that counter is the cache's version. So a balance read after a write returned always sees it
  // (conformance `core` reads it right after `vargd admin grant`). If the file cannot be mapped
  // every read goes to the store; if it is deleted while processes run, they see each other's
  // writes within BalanceCache::kMs.
  Result<Balance> balance(int64_t user_id) override;
  int64_t balances_from_memory() const;  // how many balance reads memory answered (tests)
  Result<Audit> audit() override;  // SqlStore's checks and PRAGMA integrity_check
  Status backup(const std::string& path) override;

 private:
  using SqlStore::SqlStore;
  struct ChangesCounter;
  std::unique_ptr<BalanceCache> balances_;
  std::string path_;
};

}  // namespace varg
