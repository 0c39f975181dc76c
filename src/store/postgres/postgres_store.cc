// PostgresStore: the pool, and accounts, keys, sessions and login codes.
#include "store/postgres/postgres_store.h"

#include <algorithm>
#include <chrono>

#include "common/crypto.h"
#include "store/postgres/postgres_internal.h"

namespace varg {

using pg::Conn;
using pg::Params;

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const std::string& url, Options opts) {
  std::unique_ptr<PostgresStore> store(new PostgresStore(opts));
  for (int i = 0; i < std::max(1, opts.connections); i++) {
    auto c = Conn::open(url, opts.statement_timeout_ms);
    if (!c.ok()) return c.status();
    if (i == 0) VARG_TRY(pg::migrate(**c));
    store->idle_.push_back(c->get());
    store->all_.push_back(std::move(*c));
  }
  return store;
}

PostgresStore::PostgresStore(Options o) : opts_(o) {}
PostgresStore::~PostgresStore() = default;

Result<PostgresStore::Lease> PostgresStore::lease() {
  pg::Conn* c = nullptr;
  {
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, std::chrono::milliseconds(opts_.pool_wait_ms), [&] { return !idle_.empty(); }))
      return error(Code::unavailable, "All database connections are busy; retry shortly");
    c = idle_.back();
    idle_.pop_back();
  }
  Lease l(this, c);
  // The server restarted or dropped us since the last call: reconnect before using it.
  if (c->broken()) VARG_TRY(c->reset());
  return l;
}

void PostgresStore::give_back(pg::Conn* c) {
  {
    std::lock_guard lk(mu_);
    idle_.push_back(c);
  }
  cv_.notify_one();
}

Result<std::string> PostgresStore::shared_secret(const std::string& fresh) {
  return call(true, [&](Conn& c) -> Result<std::string> {
    auto ins = c.run("INSERT INTO settings(name, value) VALUES('server_secret', $1) ON CONFLICT (name) DO NOTHING",
                     Params().add(fresh));
    if (!ins.ok()) return ins.status();
    auto r = c.run("SELECT value FROM settings WHERE name = 'server_secret'");
    if (!r.ok()) return r.status();
    if (r->empty()) return error(Code::internal, "the shared server secret vanished");
    return r->text(0, 0);
  });
}

// ---- users ----

Result<User> PostgresStore::create_user(const std::string& email, int64_t now) {
  return call(false, [&](Conn& c) -> Result<User> {
    auto r = c.run("INSERT INTO users(email, created_at) VALUES($1, $2) RETURNING id", Params().add(email).add(now));
    if (!r.ok()) {
      if (c.sqlstate() == pg::kUniqueViolation) return error(Code::conflict, "A user with this email already exists", "email");
      return r.status();
    }
    return User{r->i64(0, 0), email, now};
  });
}

namespace {
Result<User> one_user(Conn& c, const char* sql, const Params& p) {
  auto r = c.run(sql, p);
  if (!r.ok()) return r.status();
  if (r->empty()) return error(Code::not_found, "No such user");
  return pg::read_user(*r, 0);
}
}  // namespace

Result<User> PostgresStore::user_by_email(const std::string& email) {
  return call(true, [&](Conn& c) { return one_user(c, "SELECT id, email, created_at FROM users WHERE email = $1", Params().add(email)); });
}

Result<User> PostgresStore::user_by_id(int64_t id) {
  return call(true, [&](Conn& c) { return one_user(c, "SELECT id, email, created_at FROM users WHERE id = $1", Params().add(id)); });
}

Result<std::vector<User>> PostgresStore::list_users() {
  return call(true, [&](Conn& c) -> Result<std::vector<User>> {
    auto r = c.run("SELECT id, email, created_at FROM users ORDER BY id");
    if (!r.ok()) return r.status();
    std::vector<User> out;
    for (int i = 0; i < r->size(); i++) out.push_back(pg::read_user(*r, i));
    return out;
  });
}

// ---- keys ----

namespace {

Result<ApiKeyRecord> insert_key_in(Conn& c, const ApiKeyRecord& k) {
  auto r = c.run(
      "INSERT INTO api_keys(user_id, name, prefix, hash, permissions, created_at, expires_at) "
      "VALUES($1, $2, $3, $4, $5, $6, $7) RETURNING id",
      Params().add(k.user_id).add(k.name).add(k.prefix).add(k.hash).add(k.permissions).add(k.created_at).add(k.expires_at));
  if (!r.ok()) {
    if (c.sqlstate() == pg::kUniqueViolation) return error(Code::conflict, "An API key with this hash already exists");
    return r.status();
  }
  ApiKeyRecord out = k;
  out.id = r->i64(0, 0);
  return out;
}

Result<std::vector<ApiKeyRecord>> read_keys(const Result<pg::Rows>& r) {
  if (!r.ok()) return r.status();
  std::vector<ApiKeyRecord> out;
  for (int i = 0; i < r->size(); i++) out.push_back(pg::read_key(*r, i));
  return out;
}

}  // namespace

Result<ApiKeyRecord> PostgresStore::insert_key(const ApiKeyRecord& key) {
  return call(false, [&](Conn& c) { return insert_key_in(c, key); });
}

Result<ApiKeyRecord> PostgresStore::key_by_hash(const std::string& hash) {
  return call(true, [&](Conn& c) -> Result<ApiKeyRecord> {
    auto r = c.run(std::string(pg::kKeyCols) + "WHERE hash = $1", Params().add(hash));
    if (!r.ok()) return r.status();
    if (r->empty()) return error(Code::not_found, "No such key");
    return pg::read_key(*r, 0);
  });
}

Result<std::vector<ApiKeyRecord>> PostgresStore::keys_of(int64_t user_id) {
  return call(true, [&](Conn& c) {
    return read_keys(c.run(std::string(pg::kKeyCols) + "WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id",
                           Params().add(user_id)));
  });
}

Result<ApiKeyRecord> PostgresStore::key_of(int64_t user_id, int64_t key_id) {
  return call(true, [&](Conn& c) -> Result<ApiKeyRecord> {
    auto r = c.run(std::string(pg::kKeyCols) + "WHERE user_id = $1 AND id = $2 AND revoked_at IS NULL",
                   Params().add(user_id).add(key_id));
    if (!r.ok()) return r.status();
    if (r->empty()) return error(Code::not_found, "No such API key");
    return pg::read_key(*r, 0);
  });
}

Status PostgresStore::revoke_key(int64_t key_id, int64_t user_id, int64_t now) {
  return call(false, [&](Conn& c) -> Status {
    auto r = c.run("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND ($3::BIGINT = 0 OR user_id = $3) AND revoked_at IS NULL",
                   Params().add(now).add(key_id).add(user_id));
    if (!r.ok()) return r.status();
    if (r->affected() == 0) return error(Code::not_found, "No such API key");
    return Status::Ok();
  });
}

Result<ApiKeyRecord> PostgresStore::rotate_key(int64_t old_key_id, const ApiKeyRecord& fresh, int64_t now) {
  return call(false, [&](Conn& c) {
    return pg::transact(c, false, [&](Conn& t) -> Result<ApiKeyRecord> {
      auto r = t.run("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
                     Params().add(now).add(old_key_id).add(fresh.user_id));
      if (!r.ok()) return r.status();
      if (r->affected() == 0) return error(Code::not_found, "No such API key");
      return insert_key_in(t, fresh);
    });
  });
}

Status PostgresStore::touch_key(int64_t key_id, int64_t now) {
  return call(true, [&](Conn& c) -> Status {
    auto r = c.run("UPDATE api_keys SET last_used_at = $1 WHERE id = $2", Params().add(now).add(key_id));
    return r.status();
  });
}

Result<std::vector<int64_t>> PostgresStore::revoked_since(int64_t since) {
  return call(true, [&](Conn& c) -> Result<std::vector<int64_t>> {
    auto r = c.run("SELECT id FROM api_keys WHERE revoked_at >= $1", Params().add(since));
    if (!r.ok()) return r.status();
    std::vector<int64_t> out;
    for (int i = 0; i < r->size(); i++) out.push_back(r->i64(i, 0));
    return out;
  });
}

// ---- sessions ----

Status PostgresStore::insert_session(const SessionRecord& s) {
  return call(false, [&](Conn& c) -> Status {
    return c.run("INSERT INTO sessions(hash, user_id, created_at, expires_at) VALUES($1, $2, $3, $4)",
                 Params().add(s.hash).add(s.user_id).add(s.created_at).add(s.expires_at))
        .status();
  });
}

Result<SessionRecord> PostgresStore::session_by_hash(const std::string& hash) {
  return call(true, [&](Conn& c) -> Result<SessionRecord> {
    auto r = c.run("SELECT hash, user_id, created_at, expires_at FROM sessions WHERE hash = $1", Params().add(hash));
    if (!r.ok()) return r.status();
    if (r->empty()) return error(Code::not_found, "No such session");
    return SessionRecord{r->text(0, 0), r->i64(0, 1), r->i64(0, 2), r->i64(0, 3)};
  });
}

Status PostgresStore::delete_session(const std::string& hash) {
  return call(true, [&](Conn& c) -> Status { return c.run("DELETE FROM sessions WHERE hash = $1", Params().add(hash)).status(); });
}

// ---- login codes ----

Status PostgresStore::put_otp(const std::string& email, const std::string& code_hash, int64_t expires_at, int64_t now) {
  return call(false, [&](Conn& c) {
    return pg::transact(c, false, [&](Conn& t) -> Status {
      auto i = t.run("INSERT INTO otp_codes(email, code_hash, expires_at, attempts, created_at) VALUES($1, $2, $3, 0, $4)",
                     Params().add(email).add(code_hash).add(expires_at).add(now));
      if (!i.ok()) return i.status();
      return t.run("DELETE FROM otp_codes WHERE email = $1 AND (expires_at <= $2 OR id NOT IN "
                   "(SELECT id FROM otp_codes WHERE email = $1 ORDER BY id DESC LIMIT $3))",
                   Params().add(email).add(now).add(int64_t(kLiveOtpCodes)))
          .status();
    });
  });
}

Result<OtpCheck> PostgresStore::check_otp(const std::string& email, const std::string& code_hash, int max_attempts,
                                          int64_t now) {
  return call(false, [&](Conn& c) {
    return pg::transact(c, false, [&](Conn& t) -> Result<OtpCheck> {
      // FOR UPDATE: guesses split over instances are counted one after another, never lost.
      auto r = t.run("SELECT code_hash, attempts FROM otp_codes WHERE email = $1 AND expires_at > $2 FOR UPDATE",
                     Params().add(email).add(now));
      if (!r.ok()) return r.status();
      std::vector<std::pair<std::string, int64_t>> live;
      for (int row = 0; row < r->size(); row++) live.emplace_back(r->text(row, 0), r->i64(row, 1));
      OtpCheck out{judge_otp(live, code_hash, max_attempts)};
      if (out.outcome == OtpCheck::accepted) {
        auto d = t.run("DELETE FROM otp_codes WHERE email = $1", Params().add(email));
        if (!d.ok()) return d.status();
      } else if (out.outcome == OtpCheck::wrong) {
        auto u = t.run("UPDATE otp_codes SET attempts = attempts + 1 WHERE email = $1 AND expires_at > $2",
                       Params().add(email).add(now));
        if (!u.ok()) return u.status();
      }
      return out;
    });
  });
}

Status PostgresStore::record_otp_send(const std::string& email, const std::string& ip, int64_t now) {
  return call(false, [&](Conn& c) -> Status {
    return c.run("INSERT INTO otp_sends(email, ip, at) VALUES($1, $2, $3)", Params().add(email).add(ip).add(now)).status();
  });
}

Result<Store::SendCounts> PostgresStore::otp_sends_since(const std::string& email, const std::string& ip, int64_t since) {
  return call(true, [&](Conn& c) -> Result<SendCounts> {
    auto r = c.run(
        "SELECT 0, COUNT(*), COALESCE(MIN(at), 0), COALESCE(MAX(at), 0) FROM otp_sends WHERE email = $1 AND at >= $3 "
        "UNION ALL SELECT 1, COUNT(*), COALESCE(MIN(at), 0), COALESCE(MAX(at), 0) FROM otp_sends WHERE ip = $2 AND at >= $3 "
        "UNION ALL SELECT 2, COUNT(*), COALESCE(MIN(at), 0), COALESCE(MAX(at), 0) FROM otp_sends "
        "WHERE email = $1 AND ip = $2 AND at >= $3",
        Params().add(email).add(ip).add(since));
    if (!r.ok()) return r.status();
    SendCounts out;
    SendWindow* windows[] = {&out.email, &out.ip, &out.email_ip};
    for (int row = 0; row < r->size(); row++)
      *windows[std::clamp<int64_t>(r->i64(row, 0), 0, 2)] = {r->i64(row, 1), r->i64(row, 2), r->i64(row, 3)};
    return out;
  });
}

}  // namespace varg
