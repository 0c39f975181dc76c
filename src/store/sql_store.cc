// SqlStore: users, API keys, sessions, login codes, files, the result cache, idempotency records
// and saved provider keys.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "store/sql_store_internal.h"

namespace varg {

using namespace sqlstore;

namespace {

User read_user(const Rows& r, int i) { return User{r.i64(i, 0), r.text(i, 1), r.i64(i, 2)}; }

constexpr const char* kKeyCols =
    "SELECT id, user_id, name, prefix, hash, permissions, created_at, last_used_at, expires_at, revoked_at "
    "FROM api_keys ";

ApiKeyRecord read_key(const Rows& r, int i) {
  ApiKeyRecord k;
  k.id = r.i64(i, 0);
  k.user_id = r.i64(i, 1);
  k.name = r.text(i, 2);
  k.prefix = r.text(i, 3);
  k.hash = r.text(i, 4);
  k.permissions = r.opt_text(i, 5);
  k.created_at = r.i64(i, 6);
  k.last_used_at = r.opt_i64(i, 7);
  k.expires_at = r.opt_i64(i, 8);
  k.revoked_at = r.opt_i64(i, 9);
  return k;
}

Result<ApiKeyRecord> insert_key_in(Tx& t, const ApiKeyRecord& k) {
  auto r = t.run(
      "INSERT INTO api_keys(user_id, name, prefix, hash, permissions, created_at, expires_at) "
      "VALUES(?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {k.user_id, k.name, k.prefix, k.hash, k.permissions, k.created_at, k.expires_at});
  if (!r.ok()) {
    if (r.status().code == Code::conflict) return error(Code::conflict, "An API key with this hash already exists");
    return r.status();
  }
  ApiKeyRecord out = k;
  out.id = r->i64(0, 0);
  return out;
}

constexpr const char* kFileCols = "SELECT id, hash, size, media_type, ext, created_at FROM files ";

FileRecord read_file(const Rows& r, int i) {
  return FileRecord{r.text(i, 0), r.text(i, 1), r.i64(i, 2), r.text(i, 3), r.text(i, 4), r.i64(i, 5)};
}

}  // namespace

// ---- users ----

Result<User> SqlStore::create_user(const std::string& email, int64_t now) {
  User u{0, email, now};
  VARG_TRY(db().write([&](Tx& t) -> Status {
    auto r = t.run("INSERT INTO users(email, created_at) VALUES(?, ?) RETURNING id", {email, now});
    if (!r.ok()) {
      if (r.status().code == Code::conflict) return error(Code::conflict, "A user with this email already exists", "email");
      return r.status();
    }
    u.id = r->i64(0, 0);
    return Status::Ok();
  }));
  return u;
}

Result<User> SqlStore::user_by_email(const std::string& email) {
  return read_one(db(), "No such user", "SELECT id, email, created_at FROM users WHERE email = ?", {email}, read_user);
}

Result<User> SqlStore::user_by_id(int64_t id) {
  return read_one(db(), "No such user", "SELECT id, email, created_at FROM users WHERE id = ?", {id}, read_user);
}

Result<std::vector<User>> SqlStore::list_users() {
  return read_all(db(), "SELECT id, email, created_at FROM users ORDER BY id", {}, read_user);
}

// ---- keys ----

Result<ApiKeyRecord> SqlStore::insert_key(const ApiKeyRecord& key) {
  Result<ApiKeyRecord> out;
  VARG_TRY(db().write([&](Tx& t) -> Status {
    out = insert_key_in(t, key);
    return out.status();
  }));
  return out;
}

Result<ApiKeyRecord> SqlStore::key_by_hash(const std::string& hash) {
  return read_one(db(), "No such key", std::string(kKeyCols) + "WHERE hash = ?", {hash}, read_key);
}

Result<std::vector<ApiKeyRecord>> SqlStore::keys_of(int64_t user_id) {
  return read_all(db(), std::string(kKeyCols) + "WHERE user_id = ? AND revoked_at IS NULL ORDER BY id", {user_id},
                  read_key);
}

Result<ApiKeyRecord> SqlStore::key_of(int64_t user_id, int64_t key_id) {
  return read_one(db(), "No such API key", std::string(kKeyCols) + "WHERE user_id = ? AND id = ? AND revoked_at IS NULL",
                  {user_id, key_id}, read_key);
}

Status SqlStore::revoke_key(int64_t key_id, int64_t user_id, int64_t now) {
  return write_one(db(),
                   "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND (CAST(? AS BIGINT) = 0 OR user_id = ?) "
                   "AND revoked_at IS NULL",
                   {now, key_id, user_id, user_id}, "No such API key");
}

Result<ApiKeyRecord> SqlStore::rotate_key(int64_t old_key_id, const ApiKeyRecord& fresh, int64_t now) {
  Result<ApiKeyRecord> out;
  VARG_TRY(db().write([&](Tx& t) -> Status {
    auto r = t.run("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
                   {now, old_key_id, fresh.user_id});
    if (!r.ok()) return r.status();
    if (r->affected() == 0) return error(Code::not_found, "No such API key");
    out = insert_key_in(t, fresh);
    return out.status();
  }));
  return out;
}

Status SqlStore::touch_key(int64_t key_id, int64_t now) {
  return write_one(db(), "UPDATE api_keys SET last_used_at = ? WHERE id = ?", {now, key_id});
}

Result<std::vector<int64_t>> SqlStore::revoked_since(int64_t since) {
  return read_all(db(), "SELECT id FROM api_keys WHERE revoked_at >= ?", {since},
                  [](const Rows& r, int i) { return r.i64(i, 0); });
}

// ---- sessions ----

Status SqlStore::insert_session(const SessionRecord& s) {
  return write_one(db(), "INSERT INTO sessions(hash, user_id, created_at, expires_at) VALUES(?, ?, ?, ?)",
                   {s.hash, s.user_id, s.created_at, s.expires_at});
}

Result<SessionRecord> SqlStore::session_by_hash(const std::string& hash) {
  return read_one(db(), "No such session", "SELECT hash, user_id, created_at, expires_at FROM sessions WHERE hash = ?",
                  {hash}, [](const Rows& r, int i) { return SessionRecord{r.text(i, 0), r.i64(i, 1), r.i64(i, 2), r.i64(i, 3)}; });
}

Status SqlStore::delete_session(const std::string& hash) {
  return write_one(db(), "DELETE FROM sessions WHERE hash = ?", {hash});
}

// ---- login codes ----

Status SqlStore::put_otp(const std::string& email, const std::string& code_hash, int64_t expires_at, int64_t now) {
  return db().write([&](Tx& t) -> Status {
    VARG_TRY(t.run("INSERT INTO otp_codes(email, code_hash, expires_at, attempts, created_at) VALUES(?, ?, ?, 0, ?)",
                   {email, code_hash, expires_at, now}));
    // Keep the newest kLiveOtpCodes unexpired codes of this email.
    return t.run("DELETE FROM otp_codes WHERE email = ? AND (expires_at <= ? OR id NOT IN "
                 "(SELECT id FROM otp_codes WHERE email = ? ORDER BY id DESC LIMIT ?))",
                 {email, now, email, int64_t(kLiveOtpCodes)})
        .status();
  });
}

Result<OtpCheck> SqlStore::check_otp(const std::string& email, const std::string& code_hash, int max_attempts,
                                     int64_t now) {
  OtpCheck out;
  VARG_TRY(db().write([&](Tx& t) -> Status {
    auto r = t.run("SELECT code_hash, attempts FROM otp_codes WHERE email = ? AND expires_at > ?", {email, now});
    if (!r.ok()) return r.status();
    std::vector<std::pair<std::string, int64_t>> live;
    for (int i = 0; i < r->size(); i++) live.emplace_back(r->text(i, 0), r->i64(i, 1));
    out.outcome = judge_otp(live, code_hash, max_attempts);
    if (out.outcome == OtpCheck::accepted)  // signed in: every code of this email is spent
      return t.run("DELETE FROM otp_codes WHERE email = ?", {email}).status();
    if (out.outcome == OtpCheck::wrong)
      return t.run("UPDATE otp_codes SET attempts = attempts + 1 WHERE email = ? AND expires_at > ?", {email, now}).status();
    return Status::Ok();
  }));
  return out;
}

Status SqlStore::record_otp_send(const std::string& email, const std::string& ip, int64_t now) {
  return write_one(db(), "INSERT INTO otp_sends(email, ip, at) VALUES(?, ?, ?)", {email, ip, now});
}

Result<Store::SendCounts> SqlStore::otp_sends_since(const std::string& email, const std::string& ip, int64_t since) {
  auto rows = read_all(
      db(),
      "SELECT 0, COUNT(*), COALESCE(MIN(at), 0), COALESCE(MAX(at), 0) FROM otp_sends WHERE email = ? AND at >= ? "
      "UNION ALL SELECT 1, COUNT(*), COALESCE(MIN(at), 0), COALESCE(MAX(at), 0) FROM otp_sends WHERE ip = ? AND at >= ? "
      "UNION ALL SELECT 2, COUNT(*), COALESCE(MIN(at), 0), COALESCE(MAX(at), 0) FROM otp_sends "
      "WHERE email = ? AND ip = ? AND at >= ?",
      {email, since, ip, since, email, ip, since},
      [](const Rows& r, int i) { return std::pair(r.i64(i, 0), SendWindow{r.i64(i, 1), r.i64(i, 2), r.i64(i, 3)}); });
  if (!rows.ok()) return rows.status();
  SendCounts out;
  SendWindow* windows[] = {&out.email, &out.ip, &out.email_ip};
  for (auto& [which, w] : *rows) *windows[std::clamp<int64_t>(which, 0, 2)] = w;
  return out;
}

// ---- files and cache ----

Result<FileRecord> SqlStore::insert_file(const FileRecord& f, bool* existed) {
  FileRecord out = f;
  VARG_TRY(db().write([&](Tx& t) -> Status {
    auto ins = t.run("INSERT INTO files(id, hash, size, media_type, ext, created_at) VALUES(?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT DO NOTHING",
                     {f.id, f.hash, f.size, f.media_type, f.ext, f.created_at});
    if (!ins.ok()) return ins.status();
    *existed = ins->affected() == 0;
    out = f;
    if (!*existed) return Status::Ok();
    auto q = t.run(std::string(kFileCols) + "WHERE hash = ?", {f.hash});
    if (!q.ok()) return q.status();
    if (q->empty()) return error(Code::internal, "file record vanished");
    out = read_file(*q, 0);
    return Status::Ok();
  }));
  return out;
}

Result<FileRecord> SqlStore::file(const std::string& id) {
  return read_one(db(), "No such file", std::string(kFileCols) + "WHERE id = ?", {id}, read_file);
}

Status SqlStore::record_upload(int64_t user_id, const std::string& file_id, int64_t now) {
  return write_one(db(), "INSERT INTO uploads(user_id, file_id, created_at) VALUES(?, ?, ?) ON CONFLICT (user_id, file_id) DO NOTHING",
                   {user_id, file_id, now});
}

Result<std::vector<Store::Upload>> SqlStore::uploads_page(const UploadPage& q) {
  const bool after = !q.after_id.empty();
  return read_all(db(),
                  "SELECT f.id, f.hash, f.size, f.media_type, f.ext, f.created_at, u.created_at FROM uploads u "
                  "JOIN files f ON f.id = u.file_id WHERE u.user_id = ? AND "
                  "(? = 0 OR u.created_at < ? OR (u.created_at = ? AND u.file_id < ?)) "
                  "ORDER BY u.created_at DESC, u.file_id DESC LIMIT ?",
                  {q.user_id, int64_t(after), q.after_at, q.after_at, q.after_id, int64_t(q.limit)},
                  [](const Rows& r, int i) { return Upload{read_file(r, i), r.i64(i, 6)}; });
}

Result<std::optional<CacheEntry>> SqlStore::cache_get(const std::string& key, int64_t now) {
  auto e = read_one(db(), "", "SELECT key, file_id, media_type, created_at, expires_at FROM cache WHERE key = ? AND expires_at > ?",
                    {key, now}, [](const Rows& r, int i) {
                      return CacheEntry{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.i64(i, 3), r.i64(i, 4)};
                    });
  if (e.ok()) return std::optional<CacheEntry>(std::move(*e));
  if (e.status().code == Code::not_found) return std::optional<CacheEntry>();
  return e.status();
}

Status SqlStore::cache_put(const CacheEntry& e) {
  return write_one(db(),
                   "INSERT INTO cache(key, file_id, media_type, created_at, expires_at) VALUES(?, ?, ?, ?, ?) "
                   "ON CONFLICT (key) DO UPDATE SET file_id = excluded.file_id, media_type = excluded.media_type, "
                   "created_at = excluded.created_at, expires_at = excluded.expires_at",
                   {e.key, e.file_id, e.media_type, e.created_at, e.expires_at});
}

// ---- idempotency ----

Result<IdempotencyRecord> SqlStore::idempotency_claim(const IdempotencyRecord& r, int64_t since, int64_t pending_since,
                                                      bool* claimed) {
  IdempotencyRecord out = r;
  VARG_TRY(db().write([&](Tx& t) -> Status {
    VARG_TRY(t.run(std::string("DELETE FROM idempotency WHERE ") + kIdemScope +
                       " AND (created_at < ? OR (done = ? AND created_at < ?))",
                   {r.user_id, r.api_key_id, r.route, r.key, since, false, pending_since}));
    auto ins = t.run("INSERT INTO idempotency(user_id, api_key_id, route, key, body_hash, done, status, response, "
                     "withheld, created_at) VALUES(?, ?, ?, ?, ?, ?, 0, '', ?, ?) ON CONFLICT DO NOTHING",
                     {r.user_id, r.api_key_id, r.route, r.key, r.body_hash, false, false, r.created_at});
    if (!ins.ok()) return ins.status();
    *claimed = ins->affected() > 0;
    out = r;
    if (*claimed) return Status::Ok();
    auto q = t.run(std::string("SELECT body_hash, done, status, response, withheld, created_at FROM idempotency WHERE ") +
                       kIdemScope,
                   {r.user_id, r.api_key_id, r.route, r.key});
    if (!q.ok()) return q.status();
    if (q->empty()) return t.retry();
    out.body_hash = q->text(0, 0);
    out.done = q->boolean(0, 1);
    out.status = int(q->i64(0, 2));
    out.response = q->text(0, 3);
    out.withheld = q->boolean(0, 4);
    out.created_at = q->i64(0, 5);
    return Status::Ok();
  }));
  return out;
}

Status SqlStore::idempotency_finish(const IdempotencyRecord& r) {
  return write_one(db(), std::string("UPDATE idempotency SET done = ?, status = ?, response = ?, withheld = ? WHERE ") +
                             kIdemScope,
                   {true, int64_t(r.status), r.response, r.withheld, r.user_id, r.api_key_id, r.route, r.key});
}

Status SqlStore::idempotency_abandon(const IdempotencyRecord& r) {
  return write_one(db(), std::string("DELETE FROM idempotency WHERE ") + kIdemScope + " AND done = ?",
                   {r.user_id, r.api_key_id, r.route, r.key, false});
}

// ---- rate limit ----

Result<int> SqlStore::take_requests(int64_t user_id, int64_t now_ms, int per_minute, int want) {
  const int64_t minute = now_ms / 60000;
  int64_t taken = 0;
  VARG_TRY(db().write([&](Tx& t) -> Status {
    taken = 0;
    auto w = t.run("SELECT minute, n FROM rate_windows WHERE user_id = ? AND minute >= ?", {user_id, minute - 1});
    if (!w.ok()) return w.status();
    int64_t current = 0, previous = 0;
    for (int i = 0; i < w->size(); i++) (w->i64(i, 0) == minute ? current : previous) = w->i64(i, 1);
    const double into = double(now_ms % 60000) / 60000.0;
    const double room = double(per_minute) - (double(previous) * (1.0 - into) + double(current));
    taken = std::clamp<int64_t>(int64_t(std::floor(room)), 0, want);
    if (taken == 0) return Status::Ok();
    VARG_TRY(t.run("DELETE FROM rate_windows WHERE user_id = ? AND minute < ?", {user_id, minute - 1}));
    return t.run("INSERT INTO rate_windows(user_id, minute, n) VALUES(?, ?, ?) "
                 "ON CONFLICT (user_id, minute) DO UPDATE SET n = rate_windows.n + excluded.n",
                 {user_id, minute, taken})
        .status();
  }));
  return int(taken);
}

// ---- provider keys ----

Status SqlStore::put_provider_key(const ProviderKeyRecord& k) {
  return write_one(db(),
                   "INSERT INTO provider_keys(user_id, provider, sealed, suffix, created_at) VALUES(?, ?, ?, ?, ?) "
                   "ON CONFLICT (user_id, provider) DO UPDATE SET sealed = excluded.sealed, suffix = excluded.suffix, "
                   "created_at = excluded.created_at",
                   {k.user_id, k.provider, k.sealed, k.suffix, k.created_at});
}

Result<std::vector<ProviderKeyRecord>> SqlStore::provider_keys(int64_t user_id) {
  return read_all(db(),
                  "SELECT user_id, provider, sealed, suffix, created_at FROM provider_keys WHERE user_id = ? ORDER BY provider",
                  {user_id}, [](const Rows& r, int i) {
                    return ProviderKeyRecord{r.i64(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3), r.i64(i, 4)};
                  });
}

Status SqlStore::delete_provider_key(int64_t user_id, const std::string& provider) {
  const std::string missing = "No saved key for provider " + provider;
  return write_one(db(), "DELETE FROM provider_keys WHERE user_id = ? AND provider = ?", {user_id, provider},
                   missing.c_str());
}

std::string SqlStore::metrics() {
  const sql::Db::Counters c = db_->counters();
  std::ostringstream o;
  o << "# TYPE varg_db_commit_seconds histogram\n";
  for (size_t i = 0; i < c.commit_buckets.size(); i++)
    o << "varg_db_commit_seconds_bucket{le=\"" << double(sql::Db::kCommitBucketsUs[i]) / 1e6 << "\"} " << c.commit_buckets[i] << "\n";
  o << "varg_db_commit_seconds_bucket{le=\"+Inf\"} " << c.commits << "\n"
    << "varg_db_commit_seconds_sum " << double(c.commit_us_total) / 1e6 << "\n"
    << "varg_db_commit_seconds_count " << c.commits << "\n"
    << "# TYPE varg_db_writes_total counter\nvarg_db_writes_total " << c.operations << "\n"
    << "# TYPE varg_db_reruns_total counter\nvarg_db_reruns_total " << c.reruns << "\n"
    << "# TYPE varg_db_queued_writes gauge\nvarg_db_queued_writes " << c.queued_writes << "\n"
    << "# TYPE varg_db_read_connections gauge\nvarg_db_read_connections{state=\"idle\"} " << c.idle_readers << "\n"
    << "varg_db_read_connections{state=\"busy\"} " << c.readers - c.idle_readers << "\n"
    << "# TYPE varg_db_read_waits_total counter\nvarg_db_read_waits_total " << c.read_waits << "\n"
    << "# TYPE varg_db_read_timeouts_total counter\nvarg_db_read_timeouts_total " << c.read_timeouts << "\n";
  return o.str();
}

}  // namespace varg
