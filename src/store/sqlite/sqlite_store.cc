#include "store/sqlite/sqlite_store.h"


#include <sqlite3.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace varg {

namespace {

// Numbered migrations; each runs once, in order, inside one transaction.
const char* const kMigrations[] = {
    // 1: accounts, keys, sessions, ledger, login codes
    R"sql(
CREATE TABLE users(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  email TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL);
CREATE TABLE api_keys(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  permissions TEXT,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  expires_at INTEGER,
  revoked_at INTEGER);
CREATE INDEX api_keys_user ON api_keys(user_id);
CREATE INDEX api_keys_revoked ON api_keys(revoked_at) WHERE revoked_at IS NOT NULL;
CREATE TABLE sessions(
  hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE TABLE accounts(
  user_id INTEGER PRIMARY KEY REFERENCES users(id),
  settled INTEGER NOT NULL DEFAULT 0,
  reserved INTEGER NOT NULL DEFAULT 0,
  CHECK (reserved >= 0),
  CHECK (settled - reserved >= 0));
CREATE TABLE ledger(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id),
  kind TEXT NOT NULL,
  amount INTEGER NOT NULL,
  idempotency_id TEXT NOT NULL UNIQUE,
  ref TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL);
CREATE INDEX ledger_user ON ledger(user_id, id);
CREATE UNIQUE INDEX ledger_settles_once ON ledger(ref) WHERE kind IN ('capture', 'release');
CREATE TABLE otp_codes(
  email TEXT PRIMARY KEY,
  code_hash TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL);
CREATE TABLE otp_sends(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  email TEXT NOT NULL,
  ip TEXT NOT NULL,
  at INTEGER NOT NULL);
CREATE INDEX otp_sends_email ON otp_sends(email, at);
CREATE INDEX otp_sends_ip ON otp_sends(ip, at);
)sql",
    // 2: generation jobs, files, result cache, idempotency keys, saved provider keys
    R"sql(
CREATE TABLE jobs(
  id TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  capability TEXT NOT NULL,
  model TEXT NOT NULL,
  params TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  completed_at INTEGER,
  output_file_id TEXT NOT NULL DEFAULT '',
  output_media_type TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  cache_key TEXT NOT NULL DEFAULT '',
  cache_hit INTEGER NOT NULL DEFAULT 0,
  cache_mode TEXT NOT NULL DEFAULT '',
  billing_mode TEXT NOT NULL DEFAULT '',
  cost_cents INTEGER NOT NULL DEFAULT 0,
  reservation TEXT NOT NULL DEFAULT '',
  key_source TEXT NOT NULL DEFAULT '',
  upstream_id TEXT NOT NULL DEFAULT '',
  leader TEXT NOT NULL DEFAULT '',
  lease_until INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT NOT NULL DEFAULT '');
CREATE INDEX jobs_user ON jobs(user_id, created_at);
CREATE INDEX jobs_unfinished ON jobs(status) WHERE status IN ('queued', 'processing');
CREATE TABLE files(
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  size INTEGER NOT NULL,
  media_type TEXT NOT NULL,
  ext TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE cache(
  key TEXT PRIMARY KEY,
  file_id TEXT NOT NULL REFERENCES files(id),
  media_type TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE TABLE idempotency(
  user_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  done INTEGER NOT NULL DEFAULT 0,
  status INTEGER NOT NULL DEFAULT 0,
  response TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, key));
CREATE TABLE provider_keys(
  user_id INTEGER NOT NULL REFERENCES users(id),
  provider TEXT NOT NULL,
  sealed TEXT NOT NULL,
  suffix TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, provider));
)sql",
    // 3: Cloud Render jobs (the composition itself is not kept)
    R"sql(
CREATE TABLE render_jobs(
  id TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  status TEXT NOT NULL,
  mode TEXT NOT NULL,
  output TEXT NOT NULL,
  output_url TEXT NOT NULL DEFAULT '',
  thumbnail_url TEXT NOT NULL DEFAULT '',
  files TEXT NOT NULL DEFAULT '[]',
  error TEXT NOT NULL DEFAULT '',
  error_category TEXT NOT NULL DEFAULT '',
  duration_ms INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  completed_at INTEGER);
CREATE INDEX render_jobs_user ON render_jobs(user_id, created_at);
)sql",
    // 4: several live login codes per email (a new code never invalidates one already sent)
    R"sql(
CREATE TABLE otp_codes_v2(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  email TEXT NOT NULL,
  code_hash TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL);
INSERT INTO otp_codes_v2(email, code_hash, expires_at, attempts, created_at)
  SELECT email, code_hash, expires_at, attempts, created_at FROM otp_codes;
DROP TABLE otp_codes;
ALTER TABLE otp_codes_v2 RENAME TO otp_codes;
CREATE INDEX otp_codes_email ON otp_codes(email, id);
)sql",
    // 5: idempotency records scoped to (account, API key, route), never holding a secret. The old
    // records are dropped: some held whole responses with new API keys in them.
    R"sql(
DROP TABLE idempotency;
CREATE TABLE idempotency(
  user_id INTEGER NOT NULL,
  api_key_id INTEGER NOT NULL,
  route TEXT NOT NULL,
  key TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  done INTEGER NOT NULL DEFAULT 0,
  status INTEGER NOT NULL DEFAULT 0,
  response TEXT NOT NULL DEFAULT '',
  withheld INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, api_key_id, route, key));
)sql",
    // 6: open reservations in a table of their own (settling deletes the row; recovery finds the
    // ones without a live job without reading the ledger), and each account's count of live jobs
    // kept by the job rules (the active-jobs cap reads one row, whatever the history)
    R"sql(
CREATE TABLE holds(
  reservation TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  job_id TEXT NOT NULL,
  amount INTEGER NOT NULL,
  created_at INTEGER NOT NULL);
CREATE INDEX holds_created ON holds(created_at);
INSERT INTO holds(reservation, user_id, job_id, amount, created_at)
  SELECT r.idempotency_id, r.user_id, r.ref, r.amount, r.created_at FROM ledger r WHERE r.kind = 'reserve'
  AND NOT EXISTS (SELECT 1 FROM ledger s WHERE s.ref = r.idempotency_id AND s.kind IN ('capture', 'release'));
ALTER TABLE accounts ADD COLUMN active INTEGER NOT NULL DEFAULT 0;
INSERT INTO accounts(user_id) SELECT DISTINCT user_id FROM jobs WHERE status IN ('queued', 'processing')
  AND user_id NOT IN (SELECT user_id FROM accounts);
UPDATE accounts SET active = (SELECT COUNT(*) FROM jobs WHERE jobs.user_id = accounts.user_id
  AND jobs.status IN ('queued', 'processing'));
)sql",
    // 7: single flight in the store: the live leader of a cache key, and a leader's followers
    R"sql(
CREATE INDEX jobs_flight ON jobs(cache_key) WHERE leader = '' AND status IN ('queued', 'processing');
CREATE INDEX jobs_followers ON jobs(leader) WHERE leader <> '';
)sql",
    // 8: the per-account rate limit's windows, for instances sharing the store
    R"sql(
CREATE TABLE rate_windows(
  user_id INTEGER NOT NULL,
  minute INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (user_id, minute));
)sql",
    // 9: open holds in one b-tree (keyed by reservation, no rowid, no index: the table only holds
    // live reservations, so recovery's scan by age is short): two fewer pages per ledger write
    R"sql(
CREATE TABLE holds_v9(
  reservation TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  job_id TEXT NOT NULL,
  amount INTEGER NOT NULL,
  created_at INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO holds_v9 SELECT reservation, user_id, job_id, amount, created_at FROM holds;
DROP TABLE holds;
ALTER TABLE holds_v9 RENAME TO holds;
)sql",
    // 10: job webhooks (written with their job, delivered once it is terminal) and signing secrets
    R"sql(
CREATE TABLE webhook_deliveries(
  id TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  job_id TEXT NOT NULL,
  url TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  last_status INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  delivered_at INTEGER NOT NULL);
CREATE INDEX webhook_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_by_user ON webhook_deliveries(user_id, created_at);
CREATE TABLE webhook_secrets(
  user_id INTEGER PRIMARY KEY REFERENCES users(id),
  sealed TEXT NOT NULL,
  created_at INTEGER NOT NULL);
)sql",
    // 11: who uploaded which file, when (ms: the listing is newest first); uploads made before it have no owner
    R"sql(
CREATE TABLE uploads(
  user_id INTEGER NOT NULL REFERENCES users(id),
  file_id TEXT NOT NULL REFERENCES files(id),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, file_id)) WITHOUT ROWID;
CREATE INDEX uploads_by_time ON uploads(user_id, created_at);
)sql",
    // 12: OAuth for MCP clients: registered clients, authorization codes, rotating token pairs
    R"sql(
CREATE TABLE oauth_clients(
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  redirect_uris TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE oauth_codes(
  hash TEXT PRIMARY KEY,
  client_id TEXT NOT NULL REFERENCES oauth_clients(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  redirect_uri TEXT NOT NULL,
  challenge TEXT NOT NULL,
  scope TEXT NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE TABLE oauth_tokens(
  id TEXT PRIMARY KEY,
  family TEXT NOT NULL,
  client_id TEXT NOT NULL REFERENCES oauth_clients(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  scope TEXT NOT NULL,
  access_hash TEXT NOT NULL UNIQUE,
  refresh_hash TEXT NOT NULL UNIQUE,
  access_expires_at INTEGER NOT NULL,
  refresh_expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL);
CREATE INDEX oauth_tokens_family ON oauth_tokens(family);
CREATE INDEX oauth_tokens_by_user ON oauth_tokens(user_id, created_at);
)sql",
};

Status db_error(sqlite3* db, int rc) {
  const int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return retry_later(Code::unavailable, "The database is busy; retry shortly");
  if (primary == SQLITE_FULL) return retry_later(Code::insufficient_storage, "The disk is full; nothing was written, retry later", 30);
  if (primary == SQLITE_IOERR) return retry_later(Code::unavailable, "The database could not write to disk; nothing was written, retry shortly", 5);
  const std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) return error(Code::conflict, "database conflict: " + msg);
  return error(Code::internal, "database error: " + msg);
}

class Connection final : public sql::Connection {
 public:
  static Result<std::unique_ptr<Connection>> open(const std::string& path, bool writer) {
    std::unique_ptr<Connection> c(new Connection());
    int rc = sqlite3_open_v2(path.c_str(), &c->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) return error(Code::internal, "cannot open database " + path + ": " + sqlite3_errstr(rc));
    // Owner-only, before the WAL and shared-memory files exist (SQLite gives them the file's mode).
    if (writer) ::chmod(path.c_str(), 0600);
    sqlite3_extended_result_codes(c->db_, 1);
    sqlite3_busy_timeout(c->db_, 5000);
    for (const char* pragma : {"PRAGMA journal_mode=WAL", writer ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                               "PRAGMA foreign_keys=ON"}) {
      // Switching a new file to WAL needs an exclusive lock, and SQLite does not run the busy
      // handler for it: when several processes open a fresh file at once, retry for a while.
      Status s = c->exec(pragma);
      for (int tries = 0; !s.ok() && s.code == Code::unavailable && tries < 250; tries++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        s = c->exec(pragma);
      }
      if (!s.ok()) return s;
    }
    return c;
  }

  ~Connection() override {
    for (auto& [_, s] : stmts_) sqlite3_finalize(s);
    if (db_) sqlite3_close_v2(db_);
  }

  Result<sql::Rows> run(std::string_view sql, std::span<const sql::Value> params) override {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) {
      sqlite3_stmt* s = nullptr;
      int rc = sqlite3_prepare_v3(db_, sql.data(), int(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, nullptr);
      if (rc != SQLITE_OK) return db_error(db_, rc);
      it = stmts_.emplace(std::string(sql), s).first;
    }
    sqlite3_stmt* s = it->second;
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{s};
    for (size_t i = 0; i < params.size(); i++) {
      const sql::Value& v = params[i];
      const int at = int(i) + 1;
      if (v.kind() == sql::Value::integer) sqlite3_bind_int64(s, at, v.i64());
      else if (v.kind() == sql::Value::text) sqlite3_bind_text(s, at, v.str().data(), int(v.str().size()), SQLITE_STATIC);
      else sqlite3_bind_null(s, at);
    }
    const int cols = sqlite3_column_count(s);
    std::vector<sql::Rows::Cell> cells;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      for (int c = 0; c < cols; c++) {
        sql::Rows::Cell cell;
        switch (sqlite3_column_type(s, c)) {
          case SQLITE_NULL: break;
          case SQLITE_INTEGER:
            cell.is_null = false;
            cell.is_int = true;
            cell.i = sqlite3_column_int64(s, c);
            break;
          default: {
            cell.is_null = false;
            auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
            if (p) cell.s.assign(p, size_t(sqlite3_column_bytes(s, c)));
          }
        }
        cells.push_back(std::move(cell));
      }
    }
    if (rc != SQLITE_DONE) return db_error(db_, rc);
    sql::Rows out(cols, sqlite3_stmt_readonly(s) ? 0 : sqlite3_changes(db_));
    out.cells() = std::move(cells);
    return out;
  }

  Status exec(const std::string& sql) override {
    if (sql.find(';') == std::string::npos) return run(sql, {}).status();  // one statement: prepared once
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return Status::Ok();
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) return db_error(db_, rc);
    return error(Code::internal, "database error: " + msg);
  }

  bool lost_race() const override { return false; }  // one writer holds the write lock: no races
  bool broken() override { return false; }
  Status reset() override { return Status::Ok(); }
  bool in_transaction() override { return !sqlite3_get_autocommit(db_); }
  bool transaction_usable() override { return in_transaction(); }

 private:
  Connection() = default;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*, Hash, std::equal_to<>> stmts_;  // keyed by SQL text
};

}  // namespace

// <db>-changes holds one 64-bit counter, mapped shared by every process on the database and
// incremented after each commit, before the writer returns: the balance cache's version. If the
// file cannot be mapped nothing is kept (every balance read goes to the store).
struct SqliteStore::ChangesCounter final : BalanceCache::Signal {
  explicit ChangesCounter(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    struct stat st;
    // Allocated, not merely sized: a store through the mapping to a hole on a full disk (a tmpfs)
    // would be SIGBUS. Without it balances are read from the database.
    if (::fstat(fd, &st) == 0 && (st.st_size >= 8 || ::posix_fallocate(fd, 0, 8) == 0)) {
      void* m = ::mmap(nullptr, 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (m != MAP_FAILED) count = static_cast<uint64_t*>(m);
    }
    ::close(fd);
  }
  ~ChangesCounter() override {
    if (count) ::munmap(count, 8);
  }
  std::optional<uint64_t> version() const override {
    if (!count) return std::nullopt;
    return std::atomic_ref<uint64_t>(*count).load();
  }
  void written() {
    if (count) std::atomic_ref<uint64_t>(*count).fetch_add(1);
  }
  uint64_t* count = nullptr;
  static_assert(std::atomic_ref<uint64_t>::is_always_lock_free, "shared between processes");
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path, int connections,
                                                       sql::ConnectionFilter filter) {
  {
    auto boot = Connection::open(path, true);
    if (!boot.ok()) return boot.status();
    // Each step in an immediate transaction: a concurrent admin command and a starting server
    // never both apply one.
    VARG_TRY(sql::migrate(**boot, kMigrations, "BEGIN IMMEDIATE"));
  }
  sql::Engine e;
  e.begin = "BEGIN IMMEDIATE";  // the write lock up front: writers never deadlock upgrading a read lock
  e.begin_alone = e.begin;      // and are serial already
  e.writers = 1;
  e.readers = std::max(1, connections);
  e.filter = std::move(filter);
  e.maintain = [wal = path + "-wal"](sql::Connection& c) {
    struct stat st;
    if (::stat(wal.c_str(), &st) == 0 && st.st_size > kWalLimit) (void)c.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  };
  auto changes = std::make_shared<ChangesCounter>(path + "-changes");
  e.committed = [changes] { changes->written(); };
  e.connect = [path](bool writer) -> Result<std::unique_ptr<sql::Connection>> {
    auto c = Connection::open(path, writer);
    if (!c.ok()) return c.status();
    return std::unique_ptr<sql::Connection>(std::move(*c));
  };
  auto db = sql::Db::open(std::move(e));
  if (!db.ok()) return db.status();
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(*db)));
  store->balances_ = std::make_unique<BalanceCache>(std::move(changes));
  store->path_ = path;
  return store;
}

SqliteStore::~SqliteStore() = default;

int64_t SqliteStore::balances_from_memory() const { return balances_ ? balances_->hits() : 0; }

Result<Balance> SqliteStore::balance(int64_t user_id) {
  if (!balances_) return SqlStore::balance(user_id);
  return balances_->get(user_id, [&] { return SqlStore::balance(user_id); });
}

Result<Store::Audit> SqliteStore::audit() {
  auto a = SqlStore::audit();
  if (!a.ok()) return a;
  Status st = db().read([&](sql::Tx& t) -> Status {
    auto r = t.run("PRAGMA integrity_check");
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->size(); i++)
      if (r->text(i, 0) != "ok") a->problems.push_back("SQLite integrity check: " + r->text(i, 0));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return a;
}

// The backup API copies every page within one read transaction (step -1): in WAL mode that is a
// consistent snapshot, and writers go on meanwhile. The copy is made beside `path`, synced and
// renamed, so `path` is either the whole backup or absent.
Status SqliteStore::backup(const std::string& path) {
  const std::string tmp = path + ".partial";
  ::unlink(tmp.c_str());
  sqlite3 *src = nullptr, *dst = nullptr;
  auto close_both = [&] {
    if (src) sqlite3_close_v2(src);
    if (dst) sqlite3_close_v2(dst);
  };
  if (sqlite3_open_v2(path_.c_str(), &src, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK ||
      sqlite3_open_v2(tmp.c_str(), &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    Status s = db_error(dst ? dst : src, SQLITE_CANTOPEN);
    close_both();
    return error(s.code == Code::internal ? Code::invalid : s.code, "cannot open the backup: " + s.message);
  }
  sqlite3_busy_timeout(src, 5000);
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  int rc = b ? sqlite3_backup_step(b, -1) : sqlite3_errcode(dst);
  if (b) sqlite3_backup_finish(b);
  Status st = rc == SQLITE_OK || rc == SQLITE_DONE ? Status::Ok() : db_error(dst, rc);
  close_both();
  if (st.ok()) {
    const int fd = ::open(tmp.c_str(), O_RDONLY);
    const bool synced = fd >= 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (!synced || std::rename(tmp.c_str(), path.c_str()) != 0) st = error(Code::internal, "cannot write " + path);
  }
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

}  // namespace varg
