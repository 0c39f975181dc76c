#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <unordered_map>

#include "common/crypto.h"

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
};

Status db_error(sqlite3* db, int rc) {
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return error(Code::unavailable, "The database is busy; retry shortly");
  return error(Code::internal, std::string("database error: ") + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

// A prepared statement borrowed from the connection's cache; reset when it goes out of scope.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  ~Stmt() {
    if (s_) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool valid() const { return s_ != nullptr; }
  Stmt& bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); return *this; }
  Stmt& bind(int i, const std::string& v) { sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT); return *this; }
  Stmt& bind(int i, const char* v) { return bind(i, std::string(v)); }
  template <class T>
  Stmt& bind(int i, const std::optional<T>& v) {
    if (v) return bind(i, *v);
    sqlite3_bind_null(s_, i);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(s_); }
  int64_t i64(int c) { return sqlite3_column_int64(s_, c); }
  std::string text(int c) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p ? std::string(p, size_t(sqlite3_column_bytes(s_, c))) : std::string();
  }
  std::optional<int64_t> opt_i64(int c) {
    if (sqlite3_column_type(s_, c) == SQLITE_NULL) return std::nullopt;
    return i64(c);
  }
  std::optional<std::string> opt_text(int c) {
    if (sqlite3_column_type(s_, c) == SQLITE_NULL) return std::nullopt;
    return text(c);
  }
  Status done() {  // steps a statement that returns no rows
    int rc = step();
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? Status::Ok() : db_error(db_, rc);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

}  // namespace

struct SqliteStore::Conn {
  sqlite3* db = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> stmts;  // keyed by SQL text

  ~Conn() {
    for (auto& [_, s] : stmts) sqlite3_finalize(s);
    if (db) sqlite3_close_v2(db);
  }
  Stmt prepare(const char* sql) {
    auto it = stmts.find(sql);
    if (it != stmts.end()) return Stmt(db, it->second);
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) return Stmt(db, nullptr);
    stmts.emplace(sql, s);
    return Stmt(db, s);
  }
  Status exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return Status::Ok();
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return db_error(db, rc);
    return error(Code::internal, "database error: " + msg);
  }
};

// A connection checked out of the pool; returned when the lease ends.
class SqliteStore::Lease {
 public:
  Lease(SqliteStore* s, Conn* c) : store_(s), c_(c) {}
  Lease(Lease&& o) noexcept : store_(o.store_), c_(o.c_) { o.c_ = nullptr; }
  ~Lease() {
    if (c_) store_->give_back(c_);
  }
  Conn* operator->() { return c_; }

 private:
  SqliteStore* store_;
  Conn* c_;
};

SqliteStore::Lease SqliteStore::lease() {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return !idle_.empty(); });
  Conn* c = idle_.back();
  idle_.pop_back();
  return Lease(this, c);
}

void SqliteStore::give_back(Conn* c) {
  {
    std::lock_guard lk(mu_);
    idle_.push_back(c);
  }
  cv_.notify_one();
}

namespace {

// A write transaction: BEGIN IMMEDIATE takes the write lock up front, so two writers never
// deadlock upgrading read locks. Rolls back unless committed.
class Tx {
 public:
  explicit Tx(SqliteStore::Conn* c) : c_(c) { st_ = c_->exec("BEGIN IMMEDIATE"); }
  ~Tx() {
    if (st_.ok() && !done_) c_->exec("ROLLBACK");
  }
  const Status& begun() const { return st_; }
  Status commit() {
    done_ = true;
    Status s = c_->exec("COMMIT");
    if (!s.ok()) c_->exec("ROLLBACK");
    return s;
  }

 private:
  SqliteStore::Conn* c_;
  Status st_;
  bool done_ = false;
};

#define PREP(var, conn, sql)          \
  Stmt var = (conn)->prepare(sql);    \
  if (!var.valid()) return db_error((conn)->db, sqlite3_errcode((conn)->db))

User read_user(Stmt& s) { return User{s.i64(0), s.text(1), s.i64(2)}; }

constexpr const char* kKeyCols =
    "id, user_id, name, prefix, hash, permissions, created_at, last_used_at, expires_at, revoked_at";

ApiKeyRecord read_key(Stmt& s) {
  ApiKeyRecord k;
  k.id = s.i64(0);
  k.user_id = s.i64(1);
  k.name = s.text(2);
  k.prefix = s.text(3);
  k.hash = s.text(4);
  k.permissions = s.opt_text(5);
  k.created_at = s.i64(6);
  k.last_used_at = s.opt_i64(7);
  k.expires_at = s.opt_i64(8);
  k.revoked_at = s.opt_i64(9);
  return k;
}

LedgerEntry read_entry(Stmt& s) {
  LedgerEntry e;
  e.id = s.i64(0);
  e.user_id = s.i64(1);
  e.kind = entry_kind_from(s.text(2)).value_or(EntryKind::adjustment);
  e.amount = s.i64(3);
  e.idempotency_id = s.text(4);
  e.ref = s.text(5);
  e.created_at = s.i64(6);
  return e;
}

const std::string kSelectKey = std::string("SELECT ") + kKeyCols + " FROM api_keys ";
const std::string kKeyByHash = kSelectKey + "WHERE hash = ?";
const std::string kKeysOf = kSelectKey + "WHERE user_id = ? AND revoked_at IS NULL ORDER BY id";
const std::string kKeyOf = kSelectKey + "WHERE user_id = ? AND id = ? AND revoked_at IS NULL";
const std::string kKeyById = kSelectKey + "WHERE id = ?";

constexpr const char* kEntryCols = "SELECT id, user_id, kind, amount, idempotency_id, ref, created_at FROM ledger ";

Result<ApiKeyRecord> insert_key_in(SqliteStore::Conn* c, const ApiKeyRecord& k) {
  PREP(s, c,
       "INSERT INTO api_keys(user_id, name, prefix, hash, permissions, created_at, expires_at) "
       "VALUES(?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, k.user_id).bind(2, k.name).bind(3, k.prefix).bind(4, k.hash).bind(5, k.permissions);
  s.bind(6, k.created_at).bind(7, k.expires_at);
  int rc = s.step();
  if (rc == SQLITE_CONSTRAINT) return error(Code::conflict, "An API key with this hash already exists");
  if (rc != SQLITE_DONE) return db_error(c->db, rc);
  ApiKeyRecord out = k;
  out.id = sqlite3_last_insert_rowid(c->db);
  return out;
}

Result<Balance> sum_balance(SqliteStore::Conn* c, const char* sql, int64_t user_id) {
  Stmt s = c->prepare(sql);
  if (!s.valid()) return db_error(c->db, sqlite3_errcode(c->db));
  s.bind(1, user_id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return Balance{};
  if (rc != SQLITE_ROW) return db_error(c->db, rc);
  return Balance{s.i64(0), s.i64(1)};
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path, int connections) {
  std::unique_ptr<SqliteStore> store(new SqliteStore());
  for (int i = 0; i < std::max(1, connections); i++) {
    auto c = std::make_unique<Conn>();
    int rc = sqlite3_open_v2(path.c_str(), &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) return error(Code::internal, "cannot open database " + path + ": " + sqlite3_errstr(rc));
    sqlite3_busy_timeout(c->db, 5000);
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
      // Switching a new file to WAL needs an exclusive lock, and SQLite does not run the busy
      // handler for it: when several processes open a fresh file at once, retry for a while.
      Status s = c->exec(pragma);
      for (int tries = 0; !s.ok() && s.code == Code::unavailable && tries < 250; tries++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        s = c->exec(pragma);
      }
      if (!s.ok()) return s;
    }
    if (i == 0) {
      // Migrations: all pending ones in one immediate transaction, so a concurrent admin command
      // and a starting server never both apply the same step.
      VARG_TRY(c->exec("CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"));
      Tx tx(c.get());
      VARG_TRY(tx.begun());
      int64_t have = 0;
      {
        Stmt q = c->prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
        if (q.valid() && q.step() == SQLITE_ROW) have = q.i64(0);
      }
      const int64_t total = int64_t(std::size(kMigrations));
      if (have > total) return error(Code::internal, "database schema is newer than this vargd (version " + std::to_string(have) + ")");
      for (int64_t v = have + 1; v <= total; v++) {
        VARG_TRY(c->exec(kMigrations[v - 1]));
        Stmt ins = c->prepare("INSERT INTO schema_migrations(version, applied_at) VALUES(?, strftime('%s','now'))");
        ins.bind(1, v);
        VARG_TRY(ins.done());
      }
      VARG_TRY(tx.commit());
    }
    store->idle_.push_back(c.get());
    store->all_.push_back(std::move(c));
  }
  return store;
}

SqliteStore::~SqliteStore() = default;

// ---- users ----

Result<User> SqliteStore::create_user(const std::string& email, int64_t now) {
  auto c = lease();
  PREP(s, c, "INSERT INTO users(email, created_at) VALUES(?, ?)");
  s.bind(1, email).bind(2, now);
  int rc = s.step();
  if (rc == SQLITE_CONSTRAINT) return error(Code::conflict, "A user with this email already exists", "email");
  if (rc != SQLITE_DONE) return db_error(c->db, rc);
  return User{sqlite3_last_insert_rowid(c->db), email, now};
}

Result<User> SqliteStore::user_by_email(const std::string& email) {
  auto c = lease();
  PREP(s, c, "SELECT id, email, created_at FROM users WHERE email = ?");
  s.bind(1, email);
  int rc = s.step();
  if (rc == SQLITE_ROW) return read_user(s);
  if (rc == SQLITE_DONE) return error(Code::not_found, "No such user");
  return db_error(c->db, rc);
}

Result<User> SqliteStore::user_by_id(int64_t id) {
  auto c = lease();
  PREP(s, c, "SELECT id, email, created_at FROM users WHERE id = ?");
  s.bind(1, id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return read_user(s);
  if (rc == SQLITE_DONE) return error(Code::not_found, "No such user");
  return db_error(c->db, rc);
}

Result<std::vector<User>> SqliteStore::list_users() {
  auto c = lease();
  PREP(s, c, "SELECT id, email, created_at FROM users ORDER BY id");
  std::vector<User> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_user(s));
  if (rc != SQLITE_DONE) return db_error(c->db, rc);
  return out;
}

// ---- keys ----

Result<ApiKeyRecord> SqliteStore::insert_key(const ApiKeyRecord& key) {
  auto c = lease();
  return insert_key_in(c.operator->(), key);
}

Result<ApiKeyRecord> SqliteStore::key_by_hash(const std::string& hash) {
  auto c = lease();
  PREP(s, c, kKeyByHash.c_str());
  s.bind(1, hash);
  int rc = s.step();
  if (rc == SQLITE_ROW) return read_key(s);
  if (rc == SQLITE_DONE) return error(Code::not_found, "No such key");
  return db_error(c->db, rc);
}

Result<std::vector<ApiKeyRecord>> SqliteStore::keys_of(int64_t user_id) {
  auto c = lease();
  PREP(s, c, kKeysOf.c_str());
  s.bind(1, user_id);
  std::vector<ApiKeyRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_key(s));
  if (rc != SQLITE_DONE) return db_error(c->db, rc);
  return out;
}

Result<ApiKeyRecord> SqliteStore::key_of(int64_t user_id, int64_t key_id) {
  auto c = lease();
  PREP(s, c, kKeyOf.c_str());
  s.bind(1, user_id).bind(2, key_id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return read_key(s);
  if (rc == SQLITE_DONE) return error(Code::not_found, "No such API key");
  return db_error(c->db, rc);
}

Status SqliteStore::revoke_key(int64_t key_id, int64_t user_id, int64_t now) {
  auto c = lease();
  PREP(s, c,
       "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND (? = 0 OR user_id = ?) AND revoked_at IS NULL");
  s.bind(1, now).bind(2, key_id).bind(3, user_id).bind(4, user_id);
  VARG_TRY(s.done());
  if (sqlite3_changes(c->db) == 0) return error(Code::not_found, "No such API key");
  return Status::Ok();
}

Result<ApiKeyRecord> SqliteStore::rotate_key(int64_t old_key_id, const ApiKeyRecord& fresh, int64_t now) {
  auto c = lease();
  Tx tx(c.operator->());
  VARG_TRY(tx.begun());
  {
    PREP(s, c, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL");
    s.bind(1, now).bind(2, old_key_id).bind(3, fresh.user_id);
    VARG_TRY(s.done());
    if (sqlite3_changes(c->db) == 0) return error(Code::not_found, "No such API key");
  }
  auto k = insert_key_in(c.operator->(), fresh);
  if (!k.ok()) return k.status();
  VARG_TRY(tx.commit());
  return k;
}

Status SqliteStore::touch_key(int64_t key_id, int64_t now) {
  auto c = lease();
  PREP(s, c, "UPDATE api_keys SET last_used_at = ? WHERE id = ?");
  s.bind(1, now).bind(2, key_id);
  return s.done();
}

Result<std::vector<int64_t>> SqliteStore::revoked_since(int64_t since) {
  auto c = lease();
  PREP(s, c, "SELECT id FROM api_keys WHERE revoked_at >= ?");
  s.bind(1, since);
  std::vector<int64_t> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.i64(0));
  if (rc != SQLITE_DONE) return db_error(c->db, rc);
  return out;
}

// ---- sessions ----

Status SqliteStore::insert_session(const SessionRecord& r) {
  auto c = lease();
  PREP(s, c, "INSERT INTO sessions(hash, user_id, created_at, expires_at) VALUES(?, ?, ?, ?)");
  s.bind(1, r.hash).bind(2, r.user_id).bind(3, r.created_at).bind(4, r.expires_at);
  return s.done();
}

Result<SessionRecord> SqliteStore::session_by_hash(const std::string& hash) {
  auto c = lease();
  PREP(s, c, "SELECT hash, user_id, created_at, expires_at FROM sessions WHERE hash = ?");
  s.bind(1, hash);
  int rc = s.step();
  if (rc == SQLITE_ROW) return SessionRecord{s.text(0), s.i64(1), s.i64(2), s.i64(3)};
  if (rc == SQLITE_DONE) return error(Code::not_found, "No such session");
  return db_error(c->db, rc);
}

Status SqliteStore::delete_session(const std::string& hash) {
  auto c = lease();
  PREP(s, c, "DELETE FROM sessions WHERE hash = ?");
  s.bind(1, hash);
  return s.done();
}

// ---- ledger ----

Result<LedgerEntry> SqliteStore::append(const LedgerEntry& in) {
  auto c = lease();
  Tx tx(c.operator->());
  VARG_TRY(tx.begun());
  auto e = append_locked(c.operator->(), in);
  if (!e.ok()) return e;
  VARG_TRY(tx.commit());
  return e;
}

// The body of append, inside the caller's write transaction.
Result<LedgerEntry> SqliteStore::append_locked(Conn* c, const LedgerEntry& in) {
  if (in.idempotency_id.empty()) return error(Code::invalid, "ledger entry needs an idempotency id");

  {  // a repeat of an entry already written returns it
    PREP(s, c, (std::string(kEntryCols) + "WHERE idempotency_id = ?").c_str());
    s.bind(1, in.idempotency_id);
    int rc = s.step();
    if (rc == SQLITE_ROW) {
      LedgerEntry old = read_entry(s);
      bool same = old.user_id == in.user_id && old.kind == in.kind &&
                  (old.amount == in.amount || in.kind == EntryKind::capture || in.kind == EntryKind::release);
      if (!same) return error(Code::conflict, "Idempotency id already used for a different ledger entry");
      return old;
    }
    if (rc != SQLITE_DONE) return db_error(c->db, rc);
  }
  {
    PREP(s, c, "INSERT OR IGNORE INTO accounts(user_id) VALUES(?)");
    s.bind(1, in.user_id);
    VARG_TRY(s.done());
  }

  LedgerEntry e = in;
  auto available = [&]() -> int64_t {
    Stmt q = c->prepare("SELECT settled - reserved FROM accounts WHERE user_id = ?");
    q.bind(1, in.user_id);
    return q.valid() && q.step() == SQLITE_ROW ? q.i64(0) : 0;
  };
  switch (in.kind) {
    case EntryKind::grant:
    case EntryKind::purchase:
    case EntryKind::refund: {
      if (in.amount <= 0) return error(Code::invalid, "amount must be positive", "credits");
      PREP(s, c, "UPDATE accounts SET settled = settled + ? WHERE user_id = ?");
      s.bind(1, in.amount).bind(2, in.user_id);
      VARG_TRY(s.done());
      break;
    }
    case EntryKind::adjustment: {
      if (in.amount == 0) return error(Code::invalid, "amount must not be zero", "credits");
      PREP(s, c, "UPDATE accounts SET settled = settled + ? WHERE user_id = ? AND settled + ? - reserved >= 0");
      s.bind(1, in.amount).bind(2, in.user_id).bind(3, in.amount);
      VARG_TRY(s.done());
      if (sqlite3_changes(c->db) == 0)
        return error(Code::insufficient_balance, "Adjustment would make the balance negative");
      break;
    }
    case EntryKind::reserve: {
      if (in.amount <= 0) return error(Code::invalid, "amount must be positive", "credits");
      // One conditional write: the check and the hold cannot be separated by another writer.
      PREP(s, c, "UPDATE accounts SET reserved = reserved + ? WHERE user_id = ? AND settled - reserved >= ?");
      s.bind(1, in.amount).bind(2, in.user_id).bind(3, in.amount);
      VARG_TRY(s.done());
      if (sqlite3_changes(c->db) == 0)
        return error(Code::insufficient_balance, "Insufficient balance. Required: " + std::to_string(in.amount) +
                                                     " credits, available: " + std::to_string(available()) + " credits");
      break;
    }
    case EntryKind::capture:
    case EntryKind::release: {
      PREP(r, c, (std::string(kEntryCols) + "WHERE idempotency_id = ? AND kind = 'reserve'").c_str());
      r.bind(1, in.ref);
      int rc = r.step();
      if (rc == SQLITE_DONE) return error(Code::not_found, "No such reservation");
      if (rc != SQLITE_ROW) return db_error(c->db, rc);
      LedgerEntry hold = read_entry(r);
      if (hold.user_id != in.user_id) return error(Code::not_found, "No such reservation");
      {  // settled already (by this or the other kind): exactly once, so return that entry
        PREP(q, c, (std::string(kEntryCols) + "WHERE ref = ? AND kind IN ('capture', 'release')").c_str());
        q.bind(1, in.ref);
        int qrc = q.step();
        if (qrc == SQLITE_ROW) return read_entry(q);
        if (qrc != SQLITE_DONE) return db_error(c->db, qrc);
      }
      e.amount = hold.amount;
      PREP(s, c,
           in.kind == EntryKind::capture
               ? "UPDATE accounts SET reserved = reserved - ?1, settled = settled - ?1 WHERE user_id = ?2"
               : "UPDATE accounts SET reserved = reserved - ?1 WHERE user_id = ?2");
      s.bind(1, e.amount).bind(2, in.user_id);
      VARG_TRY(s.done());
      break;
    }
  }
  {
    PREP(s, c,
         "INSERT INTO ledger(user_id, kind, amount, idempotency_id, ref, created_at) VALUES(?, ?, ?, ?, ?, ?)");
    s.bind(1, e.user_id).bind(2, entry_kind_name(e.kind)).bind(3, e.amount).bind(4, e.idempotency_id);
    s.bind(5, e.ref).bind(6, e.created_at);
    int rc = s.step();
    if (rc != SQLITE_DONE) return db_error(c->db, rc);
    e.id = sqlite3_last_insert_rowid(c->db);
  }
  return e;
}

Result<Balance> SqliteStore::balance(int64_t user_id) {
  auto c = lease();
  return sum_balance(c.operator->(), "SELECT settled, reserved FROM accounts WHERE user_id = ?", user_id);
}

Result<Balance> SqliteStore::ledger_sum(int64_t user_id) {
  auto c = lease();
  return sum_balance(c.operator->(),
                     "SELECT COALESCE(SUM(CASE WHEN kind IN ('grant','purchase','refund','adjustment') THEN amount "
                     "WHEN kind = 'capture' THEN -amount ELSE 0 END), 0), "
                     "COALESCE(SUM(CASE kind WHEN 'reserve' THEN amount WHEN 'capture' THEN -amount "
                     "WHEN 'release' THEN -amount ELSE 0 END), 0) FROM ledger WHERE user_id = ?",
                     user_id);
}

Result<std::vector<LedgerEntry>> SqliteStore::entries(int64_t user_id, int limit) {
  auto c = lease();
  PREP(s, c, (std::string(kEntryCols) + "WHERE user_id = ? ORDER BY id DESC LIMIT ?").c_str());
  s.bind(1, user_id).bind(2, int64_t(limit));
  std::vector<LedgerEntry> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_entry(s));
  if (rc != SQLITE_DONE) return db_error(c->db, rc);
  return out;
}

// ---- login codes ----

Status SqliteStore::put_otp(const std::string& email, const std::string& code_hash, int64_t expires_at, int64_t now) {
  auto c = lease();
  Tx tx(c.operator->());
  VARG_TRY(tx.begun());
  PREP(s, c, "INSERT INTO otp_codes(email, code_hash, expires_at, attempts, created_at) VALUES(?1, ?2, ?3, 0, ?4)");
  s.bind(1, email).bind(2, code_hash).bind(3, expires_at).bind(4, now);
  VARG_TRY(s.done());
  PREP(d, c,
       "DELETE FROM otp_codes WHERE email = ?1 AND (expires_at <= ?2 OR id NOT IN "
       "(SELECT id FROM otp_codes WHERE email = ?1 ORDER BY id DESC LIMIT ?3))");
  d.bind(1, email).bind(2, now).bind(3, int64_t(kLiveOtpCodes));
  VARG_TRY(d.done());
  return tx.commit();
}

Result<OtpCheck> SqliteStore::check_otp(const std::string& email, const std::string& code_hash, int max_attempts,
                                        int64_t now) {
  auto c = lease();
  Tx tx(c.operator->());
  VARG_TRY(tx.begun());
  PREP(s, c, "SELECT code_hash, attempts FROM otp_codes WHERE email = ? AND expires_at > ?");
  s.bind(1, email).bind(2, now);
  std::vector<std::pair<std::string, int64_t>> live;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) live.emplace_back(s.text(0), s.i64(1));
  if (rc != SQLITE_DONE) return db_error(c->db, rc);
  OtpCheck out{judge_otp(live, code_hash, max_attempts)};
  if (out.outcome == OtpCheck::accepted) {
    PREP(d, c, "DELETE FROM otp_codes WHERE email = ?");  // signed in: every code of this email is spent
    d.bind(1, email);
    VARG_TRY(d.done());
  } else if (out.outcome == OtpCheck::wrong) {
    PREP(u, c, "UPDATE otp_codes SET attempts = attempts + 1 WHERE email = ? AND expires_at > ?");
    u.bind(1, email).bind(2, now);
    VARG_TRY(u.done());
  }
  VARG_TRY(tx.commit());
  return out;
}

Status SqliteStore::record_otp_send(const std::string& email, const std::string& ip, int64_t now) {
  auto c = lease();
  PREP(s, c, "INSERT INTO otp_sends(email, ip, at) VALUES(?, ?, ?)");
  s.bind(1, email).bind(2, ip).bind(3, now);
  return s.done();
}

Result<Store::SendCounts> SqliteStore::otp_sends_since(const std::string& email, const std::string& ip, int64_t since) {
  auto c = lease();
  PREP(s, c,
       "SELECT 0, COUNT(*), COALESCE(MIN(at), 0), COALESCE(MAX(at), 0) FROM otp_sends WHERE email = ?1 AND at >= ?3 "
       "UNION ALL SELECT 1, COUNT(*), COALESCE(MIN(at), 0), COALESCE(MAX(at), 0) FROM otp_sends WHERE ip = ?2 AND at >= ?3 "
       "UNION ALL SELECT 2, COUNT(*), COALESCE(MIN(at), 0), COALESCE(MAX(at), 0) FROM otp_sends "
       "WHERE email = ?1 AND ip = ?2 AND at >= ?3");
  s.bind(1, email).bind(2, ip).bind(3, since);
  SendCounts out;
  SendWindow* windows[] = {&out.email, &out.ip, &out.email_ip};
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) *windows[std::clamp<int64_t>(s.i64(0), 0, 2)] = {s.i64(1), s.i64(2), s.i64(3)};
  if (rc != SQLITE_DONE) return db_error(c->db, rc);
  return out;
}

// ---- jobs ----

namespace {

constexpr const char* kJobCols =
    "SELECT id, user_id, capability, model, params, status, created_at, started_at, completed_at, output_file_id, "
    "output_media_type, error, cache_key, cache_hit, cache_mode, billing_mode, cost_cents, reservation, key_source, "
    "upstream_id, leader, lease_until, lease_owner FROM jobs ";

JobRecord read_job(Stmt& s) {
  JobRecord j;
  j.id = s.text(0);
  j.user_id = s.i64(1);
  j.capability = s.text(2);
  j.model = s.text(3);
  j.params = s.text(4);
  j.status = s.text(5);
  j.created_at = s.i64(6);
  j.started_at = s.opt_i64(7);
  j.completed_at = s.opt_i64(8);
  j.output_file_id = s.text(9);
  j.output_media_type = s.text(10);
  j.error = s.text(11);
  j.cache_key = s.text(12);
  j.cache_hit = s.i64(13) != 0;
  j.cache_mode = s.text(14);
  j.billing_mode = s.text(15);
  j.cost_cents = s.i64(16);
  j.reservation = s.text(17);
  j.key_source = s.text(18);
  j.upstream_id = s.text(19);
  j.leader = s.text(20);
  j.lease_until = s.i64(21);
  j.lease_owner = s.text(22);
  return j;
}

Result<std::vector<JobRecord>> read_jobs(SqliteStore::Conn* c, Stmt& s) {
  std::vector<JobRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_job(s));
  if (rc != SQLITE_DONE) return db_error(c->db, rc);
  return out;
}

}  // namespace

Status SqliteStore::insert_job(const JobRecord& j) {
  auto c = lease();
  PREP(s, c,
       "INSERT INTO jobs(id, user_id, capability, model, params, status, created_at, started_at, completed_at, "
       "output_file_id, output_media_type, error, cache_key, cache_hit, cache_mode, billing_mode, cost_cents, "
       "reservation, key_source, upstream_id, leader, lease_until, lease_owner) "
       "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, j.id).bind(2, j.user_id).bind(3, j.capability).bind(4, j.model).bind(5, j.params).bind(6, j.status);
  s.bind(7, j.created_at).bind(8, j.started_at).bind(9, j.completed_at).bind(10, j.output_file_id);
  s.bind(11, j.output_media_type).bind(12, j.error).bind(13, j.cache_key).bind(14, int64_t(j.cache_hit));
  s.bind(15, j.cache_mode).bind(16, j.billing_mode).bind(17, j.cost_cents).bind(18, j.reservation);
  s.bind(19, j.key_source).bind(20, j.upstream_id).bind(21, j.leader).bind(22, j.lease_until).bind(23, j.lease_owner);
  return s.done();
}

Result<JobRecord> SqliteStore::job(const std::string& id) {
  auto c = lease();
  PREP(s, c, (std::string(kJobCols) + "WHERE id = ?").c_str());
  s.bind(1, id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return read_job(s);
  if (rc == SQLITE_DONE) return error(Code::not_found, "No such job");
  return db_error(c->db, rc);
}

Result<bool> SqliteStore::update_job(const JobRecord& j, const std::string& expected) {
  auto c = lease();
  return update_job_locked(c.operator->(), j, expected);
}

Result<bool> SqliteStore::update_job_locked(Conn* c, const JobRecord& j, const std::string& expected) {
  PREP(s, c,
       "UPDATE jobs SET status = ?, started_at = ?, completed_at = ?, output_file_id = ?, output_media_type = ?, "
       "error = ?, cache_hit = ?, billing_mode = ?, cost_cents = ?, reservation = ?, upstream_id = ?, leader = ? "
       "WHERE id = ? AND status = ?");  // the lease is claim_job's and renew_leases' alone
  s.bind(1, j.status).bind(2, j.started_at).bind(3, j.completed_at).bind(4, j.output_file_id);
  s.bind(5, j.output_media_type).bind(6, j.error).bind(7, int64_t(j.cache_hit)).bind(8, j.billing_mode);
  s.bind(9, j.cost_cents).bind(10, j.reservation).bind(11, j.upstream_id).bind(12, j.leader);
  s.bind(13, j.id).bind(14, expected);
  VARG_TRY(s.done());
  return sqlite3_changes(c->db) > 0;
}

Result<bool> SqliteStore::finish_job(const JobRecord& j, const std::string& expected,
                                     const std::optional<LedgerEntry>& settle) {
  auto c = lease();
  Tx tx(c.operator->());
  VARG_TRY(tx.begun());
  auto changed = update_job_locked(c.operator->(), j, expected);
  if (!changed.ok() || !*changed) return changed;
  if (settle) {
    auto e = append_locked(c.operator->(), *settle);
    if (!e.ok()) return e.status();
  }
  VARG_TRY(tx.commit());
  return true;
}

Result<std::vector<JobRecord>> SqliteStore::unfinished_jobs() {
  auto c = lease();
  PREP(s, c, (std::string(kJobCols) + "WHERE status IN ('queued', 'processing') ORDER BY created_at").c_str());
  return read_jobs(c.operator->(), s);
}

Result<bool> SqliteStore::claim_job(const std::string& id, const std::string& owner, int64_t until, int64_t now) {
  auto c = lease();
  PREP(s, c,
       "UPDATE jobs SET lease_owner = ?2, lease_until = ?3 WHERE id = ?1 AND status IN ('queued', 'processing') "
       "AND (lease_until < ?4 OR lease_owner = ?2)");
  s.bind(1, id).bind(2, owner).bind(3, until).bind(4, now);
  VARG_TRY(s.done());
  return sqlite3_changes(c->db) > 0;
}

Status SqliteStore::renew_leases(const std::string& owner, int64_t until) {
  auto c = lease();
  PREP(s, c,
       "UPDATE jobs SET lease_until = ?2 WHERE lease_owner = ?1 AND status IN ('queued', 'processing') "
       "AND lease_until < ?2");
  s.bind(1, owner).bind(2, until);
  return s.done();
}

Result<int64_t> SqliteStore::active_jobs(int64_t user_id) {
  auto c = lease();
  PREP(s, c, "SELECT COUNT(*) FROM jobs WHERE user_id = ? AND status IN ('queued', 'processing')");
  s.bind(1, user_id);
  int rc = s.step();
  if (rc != SQLITE_ROW) return db_error(c->db, rc);
  return s.i64(0);
}

Result<std::vector<JobRecord>> SqliteStore::jobs_of(int64_t user_id, int64_t from, int64_t to, const std::string& model,
                                                    int limit) {
  auto c = lease();
  PREP(s, c,
       (std::string(kJobCols) +
        "WHERE user_id = ? AND created_at >= ? AND created_at < ? AND (? = '' OR model = ? OR model LIKE '%:' || ?) "
        "ORDER BY created_at DESC, id LIMIT ?")
           .c_str());
  s.bind(1, user_id).bind(2, from).bind(3, to).bind(4, model).bind(5, model).bind(6, model).bind(7, int64_t(limit));
  return read_jobs(c.operator->(), s);
}

// ---- files and cache ----

Result<FileRecord> SqliteStore::insert_file(const FileRecord& f, bool* existed) {
  auto c = lease();
  PREP(s, c, "INSERT OR IGNORE INTO files(id, hash, size, media_type, ext, created_at) VALUES(?, ?, ?, ?, ?, ?)");
  s.bind(1, f.id).bind(2, f.hash).bind(3, f.size).bind(4, f.media_type).bind(5, f.ext).bind(6, f.created_at);
  VARG_TRY(s.done());
  *existed = sqlite3_changes(c->db) == 0;
  if (!*existed) return f;
  PREP(q, c, "SELECT id, hash, size, media_type, ext, created_at FROM files WHERE hash = ?");
  q.bind(1, f.hash);
  int rc = q.step();
  if (rc != SQLITE_ROW) return db_error(c->db, rc);
  return FileRecord{q.text(0), q.text(1), q.i64(2), q.text(3), q.text(4), q.i64(5)};
}

Result<FileRecord> SqliteStore::file(const std::string& id) {
  auto c = lease();
  PREP(s, c, "SELECT id, hash, size, media_type, ext, created_at FROM files WHERE id = ?");
  s.bind(1, id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return FileRecord{s.text(0), s.text(1), s.i64(2), s.text(3), s.text(4), s.i64(5)};
  if (rc == SQLITE_DONE) return error(Code::not_found, "No such file");
  return db_error(c->db, rc);
}

Result<std::optional<CacheEntry>> SqliteStore::cache_get(const std::string& key, int64_t now) {
  auto c = lease();
  PREP(s, c, "SELECT key, file_id, media_type, created_at, expires_at FROM cache WHERE key = ? AND expires_at > ?");
  s.bind(1, key).bind(2, now);
  int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<CacheEntry>(CacheEntry{s.text(0), s.text(1), s.text(2), s.i64(3), s.i64(4)});
  if (rc == SQLITE_DONE) return std::optional<CacheEntry>();
  return db_error(c->db, rc);
}

Status SqliteStore::cache_put(const CacheEntry& e) {
  auto c = lease();
  PREP(s, c,
       "INSERT INTO cache(key, file_id, media_type, created_at, expires_at) VALUES(?1, ?2, ?3, ?4, ?5) "
       "ON CONFLICT(key) DO UPDATE SET file_id = ?2, media_type = ?3, created_at = ?4, expires_at = ?5");
  s.bind(1, e.key).bind(2, e.file_id).bind(3, e.media_type).bind(4, e.created_at).bind(5, e.expires_at);
  return s.done();
}

// ---- idempotency ----

Result<IdempotencyRecord> SqliteStore::idempotency_claim(const IdempotencyRecord& r, int64_t since, bool* claimed) {
  auto c = lease();
  Tx tx(c.operator->());
  VARG_TRY(tx.begun());
  {
    PREP(d, c, "DELETE FROM idempotency WHERE user_id = ? AND key = ? AND created_at < ?");
    d.bind(1, r.user_id).bind(2, r.key).bind(3, since);
    VARG_TRY(d.done());
  }
  PREP(s, c,
       "INSERT OR IGNORE INTO idempotency(user_id, key, body_hash, done, status, response, created_at) "
       "VALUES(?, ?, ?, 0, 0, '', ?)");
  s.bind(1, r.user_id).bind(2, r.key).bind(3, r.body_hash).bind(4, r.created_at);
  VARG_TRY(s.done());
  *claimed = sqlite3_changes(c->db) > 0;
  IdempotencyRecord out = r;
  if (!*claimed) {
    PREP(q, c, "SELECT body_hash, done, status, response, created_at FROM idempotency WHERE user_id = ? AND key = ?");
    q.bind(1, r.user_id).bind(2, r.key);
    int rc = q.step();
    if (rc != SQLITE_ROW) return db_error(c->db, rc);
    out.body_hash = q.text(0);
    out.done = q.i64(1) != 0;
    out.status = int(q.i64(2));
    out.response = q.text(3);
    out.created_at = q.i64(4);
  }
  VARG_TRY(tx.commit());
  return out;
}

Status SqliteStore::idempotency_finish(const IdempotencyRecord& r) {
  auto c = lease();
  PREP(s, c, "UPDATE idempotency SET done = 1, status = ?, response = ? WHERE user_id = ? AND key = ?");
  s.bind(1, int64_t(r.status)).bind(2, r.response).bind(3, r.user_id).bind(4, r.key);
  return s.done();
}

Status SqliteStore::idempotency_abandon(int64_t user_id, const std::string& key) {
  auto c = lease();
  PREP(s, c, "DELETE FROM idempotency WHERE user_id = ? AND key = ? AND done = 0");
  s.bind(1, user_id).bind(2, key);
  return s.done();
}

// ---- provider keys ----

Status SqliteStore::put_provider_key(const ProviderKeyRecord& k) {
  auto c = lease();
  PREP(s, c,
       "INSERT INTO provider_keys(user_id, provider, sealed, suffix, created_at) VALUES(?1, ?2, ?3, ?4, ?5) "
       "ON CONFLICT(user_id, provider) DO UPDATE SET sealed = ?3, suffix = ?4, created_at = ?5");
  s.bind(1, k.user_id).bind(2, k.provider).bind(3, k.sealed).bind(4, k.suffix).bind(5, k.created_at);
  return s.done();
}

Result<std::vector<ProviderKeyRecord>> SqliteStore::provider_keys(int64_t user_id) {
  auto c = lease();
  PREP(s, c, "SELECT user_id, provider, sealed, suffix, created_at FROM provider_keys WHERE user_id = ? ORDER BY provider");
  s.bind(1, user_id);
  std::vector<ProviderKeyRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back({s.i64(0), s.text(1), s.text(2), s.text(3), s.i64(4)});
  if (rc != SQLITE_DONE) return db_error(c->db, rc);
  return out;
}

Status SqliteStore::delete_provider_key(int64_t user_id, const std::string& provider) {
  auto c = lease();
  PREP(s, c, "DELETE FROM provider_keys WHERE user_id = ? AND provider = ?");
  s.bind(1, user_id).bind(2, provider);
  VARG_TRY(s.done());
  if (sqlite3_changes(c->db) == 0) return error(Code::not_found, "No saved key for provider " + provider);
  return Status::Ok();
}

// ---- render jobs ----

namespace {
constexpr const char* kRenderCols =
    "SELECT id, user_id, status, mode, output, output_url, thumbnail_url, files, error, error_category, duration_ms, "
    "created_at, started_at, completed_at FROM render_jobs ";

RenderJobRecord read_render_job(Stmt& s) {
  RenderJobRecord r;
  r.id = s.text(0);
  r.user_id = s.i64(1);
  r.status = s.text(2);
  r.mode = s.text(3);
  r.output = s.text(4);
  r.output_url = s.text(5);
  r.thumbnail_url = s.text(6);
  r.files = s.text(7);
  r.error = s.text(8);
  r.error_category = s.text(9);
  r.duration_ms = s.i64(10);
  r.created_at = s.i64(11);
  r.started_at = s.opt_i64(12);
  r.completed_at = s.opt_i64(13);
  return r;
}

Result<std::vector<RenderJobRecord>> read_render_jobs(SqliteStore::Conn* c, Stmt& s) {
  std::vector<RenderJobRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_render_job(s));
  if (rc != SQLITE_DONE) return db_error(c->db, rc);
  return out;
}
}  // namespace

Status SqliteStore::insert_render_job(const RenderJobRecord& r) {
  auto c = lease();
  PREP(s, c,
       "INSERT INTO render_jobs(id, user_id, status, mode, output, output_url, thumbnail_url, files, error, "
       "error_category, duration_ms, created_at, started_at, completed_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, r.id).bind(2, r.user_id).bind(3, r.status).bind(4, r.mode).bind(5, r.output).bind(6, r.output_url);
  s.bind(7, r.thumbnail_url).bind(8, r.files).bind(9, r.error).bind(10, r.error_category).bind(11, r.duration_ms);
  s.bind(12, r.created_at).bind(13, r.started_at).bind(14, r.completed_at);
  return s.done();
}

Result<bool> SqliteStore::update_render_job(const RenderJobRecord& r, const std::string& expected_status) {
  auto c = lease();
  PREP(s, c,
       "UPDATE render_jobs SET status = ?, output_url = ?, thumbnail_url = ?, files = ?, error = ?, error_category = ?, "
       "duration_ms = ?, started_at = ?, completed_at = ? WHERE id = ? AND status = ?");
  s.bind(1, r.status).bind(2, r.output_url).bind(3, r.thumbnail_url).bind(4, r.files).bind(5, r.error);
  s.bind(6, r.error_category).bind(7, r.duration_ms).bind(8, r.started_at).bind(9, r.completed_at).bind(10, r.id);
  s.bind(11, expected_status);
  VARG_TRY(s.done());
  return sqlite3_changes(c->db) > 0;
}

Result<RenderJobRecord> SqliteStore::render_job(const std::string& id) {
  auto c = lease();
  PREP(s, c, (std::string(kRenderCols) + "WHERE id = ?").c_str());
  s.bind(1, id);
  int rc = s.step();
  if (rc == SQLITE_ROW) return read_render_job(s);
  if (rc == SQLITE_DONE) return error(Code::not_found, "No such render job");
  return db_error(c->db, rc);
}

Result<std::vector<RenderJobRecord>> SqliteStore::render_jobs_of(int64_t user_id, int limit) {
  auto c = lease();
  PREP(s, c, (std::string(kRenderCols) + "WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?").c_str());
  s.bind(1, user_id).bind(2, int64_t(limit));
  return read_render_jobs(c.operator->(), s);
}

Result<std::vector<RenderJobRecord>> SqliteStore::unfinished_render_jobs() {
  auto c = lease();
  PREP(s, c, (std::string(kRenderCols) + "WHERE status = 'rendering'").c_str());
  return read_render_jobs(c.operator->(), s);
}

}  // namespace varg
