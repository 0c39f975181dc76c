// PostgresStore: SqlStore's rules for several vargd instances on one PostgreSQL database (libpq).
// Write transactions are SERIALIZABLE, so the rules (written as if they ran alone) hold across
// instances: the server aborts whichever transaction would break serial order, and Db runs it
// again as the only writer. Numbered migrations are applied under an advisory lock so instances starting together
// are safe; a connection the server dropped (restart, failover) is reset on its next use.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/balance_cache.h"
#include "store/sql_store.h"

namespace varg {

namespace pg {
class Conn;
}

class PostgresStore final : public SqlStore {
 public:
  struct Options {
    int connections = 8;             // read pool: at most this many reads run at once
    int writers = 1;                 // write connections, each a group-commit lane
    int statement_timeout_ms = 10000;
    int pool_wait_ms = 10000;        // a read waiting longer for a connection is unavailable (503)
    sql::ConnectionFilter filter;    // optional (fault injection)
  };
  // Connects (url: postgres:// or postgresql://, or any libpq connection string) and applies
  // pending migrations.
  static Result<std::unique_ptr<PostgresStore>> open(const std::string& url, Options opts);

  // The instances' common server secret (hex) kept in the database: the stored one, or `fresh`
  // stored now if there is none yet. For deployments that do not set --secret on every instance.
  Result<std::string> shared_secret(const std::string& fresh);

  std::vector<std::string> job_changes(int timeout_ms) override;
  // Balances from memory (store/balance_cache.h): forgotten at each commit of this process and at
  // each NOTIFY varg_balances, which a trigger on accounts sends for every writer (migration 13),
  // so another instance's or `vargd admin`'s write is seen once its notification arrives — within
  // milliseconds, and within BalanceCache::kMs whatever happens. Without the listener (the server
  // went away) every read goes to the store until it is back.
  Result<Balance> balance(int64_t user_id) override;
  int64_t balances_from_memory() const { return balances_->hits(); }
  ~PostgresStore() override;

 private:
  using SqlStore::SqlStore;
  std::string url_;
  int timeout_ms_ = 10000;
  std::mutex listen_mu_;
  std::unique_ptr<pg::Conn> listener_;  // LISTEN varg_jobs, for job_changes
  struct BalanceSignal;
  std::unique_ptr<BalanceCache> balances_;
};

}  // namespace varg
