// SqliteStore: the embedded Store. SqlStore's rules on one SQLite file in WAL mode: one writer
// connection (synchronous=FULL, so no committed write is lost on power failure; group commit
// keeps it fast), a pool of readers, and numbered migrations applied at open. Safe to share one
// file between a running vargd and `vargd admin` commands.
#pragma once
#include <memory>
#include <string>

#include "store/sql_store.h"

namespace varg {

class SqliteStore final : public SqlStore {
 public:
  // Opens (creating if needed) the database file and applies pending migrations; `connections`
  // is the number of readers.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path, int connections,
                                                  sql::ConnectionFilter filter = {});

 private:
  using SqlStore::SqlStore;
};

}  // namespace varg
