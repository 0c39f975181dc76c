#include "store/postgres/postgres_store.h"

#include "store/postgres/pg_conn.h"
#include "store/postgres/postgres_schema.h"

namespace varg {

namespace {
constexpr int64_t kWriteLock = 0x76617268;  // one id for every vargd ("varh"; migrations use "varg")
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const std::string& url, Options opts) {
  {
    auto boot = pg::Conn::open(url, opts.statement_timeout_ms);
    if (!boot.ok()) return boot.status();
    VARG_TRY(pg::migrate(**boot));
  }
  sql::Engine e;
  e.name = "postgres";
  // Every write transaction holds one advisory lock shared; a re-run after a lost race takes it
  // exclusively, so it waits for the writers in flight (on every instance), runs alone, and
  // cannot lose again (PostgreSQL queues new shared requests behind a waiting exclusive one).
  e.begin = "BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT pg_advisory_xact_lock_shared(" + std::to_string(kWriteLock) + ")";
  e.begin_alone = "BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT pg_advisory_xact_lock(" + std::to_string(kWriteLock) + ")";
  e.writers = std::max(1, opts.writers);
  e.readers = std::max(1, opts.connections);
  e.pool_wait_ms = opts.pool_wait_ms;
  e.filter = opts.filter;
  e.connect = [url, timeout = opts.statement_timeout_ms](bool) -> Result<std::unique_ptr<sql::Connection>> {
    auto c = pg::Conn::open(url, timeout);
    if (!c.ok()) return c.status();
    return std::unique_ptr<sql::Connection>(std::move(*c));
  };
  auto db = sql::Db::open(std::move(e));
  if (!db.ok()) return db.status();
  return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(*db)));
}

Result<std::string> PostgresStore::shared_secret(const std::string& fresh) {
  std::string value;
  VARG_TRY(db().write([&](sql::Tx& t) -> Status {
    VARG_TRY(t.run("INSERT INTO settings(name, value) VALUES('server_secret', ?) ON CONFLICT (name) DO NOTHING", {fresh}));
    auto r = t.run("SELECT value FROM settings WHERE name = 'server_secret'");
    if (!r.ok()) return r.status();
    if (r->empty()) return error(Code::internal, "the shared server secret vanished");
    value = r->text(0, 0);
    return Status::Ok();
  }));
  return value;
}

}  // namespace varg
