// PostgresStore's numbered migrations: SQLite's schema (store/sqlite/sqlite_store.cc) in
// PostgreSQL types, plus a settings table for the instances' shared secret. Applied at open under
// an advisory lock, each in its own transaction, so instances starting together never collide.
#include "store/postgres/postgres_schema.h"

namespace varg::pg {

namespace {

const char* const kMigrations[] = {
    // 1: accounts, keys, sessions, ledger, login codes
    R"sql(
CREATE TABLE users(
  id BIGSERIAL PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL);
CREATE TABLE api_keys(
  id BIGSERIAL PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  permissions TEXT,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  expires_at BIGINT,
  revoked_at BIGINT);
CREATE INDEX api_keys_user ON api_keys(user_id);
CREATE INDEX api_keys_revoked ON api_keys(revoked_at) WHERE revoked_at IS NOT NULL;
CREATE TABLE sessions(
  hash TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id),
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL);
CREATE TABLE accounts(
  user_id BIGINT PRIMARY KEY REFERENCES users(id),
  settled BIGINT NOT NULL DEFAULT 0,
  reserved BIGINT NOT NULL DEFAULT 0,
  CHECK (reserved >= 0),
  CHECK (settled - reserved >= 0));
CREATE TABLE ledger(
  id BIGSERIAL PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id),
  kind TEXT NOT NULL,
  amount BIGINT NOT NULL,
  idempotency_id TEXT NOT NULL UNIQUE,
  ref TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL);
CREATE INDEX ledger_user ON ledger(user_id, id);
CREATE UNIQUE INDEX ledger_settles_once ON ledger(ref) WHERE kind IN ('capture', 'release');
CREATE TABLE otp_codes(
  email TEXT PRIMARY KEY,
  code_hash TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL);
CREATE TABLE otp_sends(
  id BIGSERIAL PRIMARY KEY,
  email TEXT NOT NULL,
  ip TEXT NOT NULL,
  at BIGINT NOT NULL);
CREATE INDEX otp_sends_email ON otp_sends(email, at);
CREATE INDEX otp_sends_ip ON otp_sends(ip, at);
)sql",
    // 2: generation jobs, files, result cache, idempotency keys, saved provider keys
    R"sql(
CREATE TABLE jobs(
  id TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id),
  capability TEXT NOT NULL,
  model TEXT NOT NULL,
  params TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  completed_at BIGINT,
  output_file_id TEXT NOT NULL DEFAULT '',
  output_media_type TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  cache_key TEXT NOT NULL DEFAULT '',
  cache_hit BOOLEAN NOT NULL DEFAULT FALSE,
  cache_mode TEXT NOT NULL DEFAULT '',
  billing_mode TEXT NOT NULL DEFAULT '',
  cost_cents BIGINT NOT NULL DEFAULT 0,
  reservation TEXT NOT NULL DEFAULT '',
  key_source TEXT NOT NULL DEFAULT '',
  upstream_id TEXT NOT NULL DEFAULT '',
  leader TEXT NOT NULL DEFAULT '',
  lease_until BIGINT NOT NULL DEFAULT 0,
  lease_owner TEXT NOT NULL DEFAULT '');
CREATE INDEX jobs_user ON jobs(user_id, created_at);
CREATE INDEX jobs_unfinished ON jobs(status) WHERE status IN ('queued', 'processing');
CREATE TABLE files(
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  size BIGINT NOT NULL,
  media_type TEXT NOT NULL,
  ext TEXT NOT NULL,
  created_at BIGINT NOT NULL);
CREATE TABLE cache(
  key TEXT PRIMARY KEY,
  file_id TEXT NOT NULL REFERENCES files(id),
  media_type TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL);
CREATE TABLE idempotency(
  user_id BIGINT NOT NULL,
  key TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  done BOOLEAN NOT NULL DEFAULT FALSE,
  status BIGINT NOT NULL DEFAULT 0,
  response TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, key));
CREATE TABLE provider_keys(
  user_id BIGINT NOT NULL REFERENCES users(id),
  provider TEXT NOT NULL,
  sealed TEXT NOT NULL,
  suffix TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, provider));
)sql",
    // 3: settings every instance shares (the server secret when --secret is not set)
    R"sql(
CREATE TABLE settings(
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL);
)sql",
    // 4: Cloud Render jobs (the composition itself is not kept), as SQLite's migration 3
    R"sql(
CREATE TABLE render_jobs(
  id TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id),
  status TEXT NOT NULL,
  mode TEXT NOT NULL,
  output TEXT NOT NULL,
  output_url TEXT NOT NULL DEFAULT '',
  thumbnail_url TEXT NOT NULL DEFAULT '',
  files TEXT NOT NULL DEFAULT '[]',
  error TEXT NOT NULL DEFAULT '',
  error_category TEXT NOT NULL DEFAULT '',
  duration_ms BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  completed_at BIGINT);
CREATE INDEX render_jobs_user ON render_jobs(user_id, created_at);
)sql",
    // 5: several live login codes per email, as SQLite's migration 4
    R"sql(
ALTER TABLE otp_codes DROP CONSTRAINT otp_codes_pkey;
ALTER TABLE otp_codes ADD COLUMN id BIGSERIAL PRIMARY KEY;
CREATE INDEX otp_codes_email ON otp_codes(email, id);
)sql",
    // 6: text keys that the store sorts by compare bytewise, as in SQLite
    R"sql(
ALTER TABLE jobs ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE render_jobs ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE provider_keys ALTER COLUMN provider TYPE TEXT COLLATE "C";
)sql",
    // 7: idempotency records scoped to (account, API key, route), never holding a secret, as
    // SQLite's migration 5 (the old records are dropped: some held new API keys)
    R"sql(
DROP TABLE idempotency;
CREATE TABLE idempotency(
  user_id BIGINT NOT NULL,
  api_key_id BIGINT NOT NULL,
  route TEXT NOT NULL,
  key TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  done BOOLEAN NOT NULL DEFAULT FALSE,
  status BIGINT NOT NULL DEFAULT 0,
  response TEXT NOT NULL DEFAULT '',
  withheld BOOLEAN NOT NULL DEFAULT FALSE,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, api_key_id, route, key));
)sql",
    // 8: open reservations and each account's count of live jobs, as SQLite's migration 6
    R"sql(
CREATE TABLE holds(
  reservation TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id),
  job_id TEXT NOT NULL,
  amount BIGINT NOT NULL,
  created_at BIGINT NOT NULL);
CREATE INDEX holds_created ON holds(created_at);
INSERT INTO holds(reservation, user_id, job_id, amount, created_at)
  SELECT r.idempotency_id, r.user_id, r.ref, r.amount, r.created_at FROM ledger r WHERE r.kind = 'reserve'
  AND NOT EXISTS (SELECT 1 FROM ledger s WHERE s.ref = r.idempotency_id AND s.kind IN ('capture', 'release'));
ALTER TABLE accounts ADD COLUMN active BIGINT NOT NULL DEFAULT 0;
INSERT INTO accounts(user_id) SELECT DISTINCT user_id FROM jobs WHERE status IN ('queued', 'processing')
  AND user_id NOT IN (SELECT user_id FROM accounts);
UPDATE accounts SET active = (SELECT COUNT(*) FROM jobs WHERE jobs.user_id = accounts.user_id
  AND jobs.status IN ('queued', 'processing'));
)sql",
    // 9: single flight in the store: the live leader of a cache key, and a leader's followers
    R"sql(
CREATE INDEX jobs_flight ON jobs(cache_key) WHERE leader = '' AND status IN ('queued', 'processing');
CREATE INDEX jobs_followers ON jobs(leader) WHERE leader <> '';
)sql",
    // 10: the per-account rate limit's windows, for instances sharing the store
    R"sql(
CREATE TABLE rate_windows(
  user_id BIGINT NOT NULL,
  minute BIGINT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (user_id, minute));
)sql",
    // 11: holds without the age index, as SQLite's migration 9 (it only holds live reservations)
    R"sql(
DROP INDEX holds_created;
)sql",
    // 12: job webhooks and signing secrets, as SQLite's migration 10
    R"sql(
CREATE TABLE webhook_deliveries(
  id TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id),
  job_id TEXT NOT NULL,
  url TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts BIGINT NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  last_status BIGINT NOT NULL,
  last_error TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  delivered_at BIGINT NOT NULL);
CREATE INDEX webhook_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_by_user ON webhook_deliveries(user_id, created_at);
CREATE TABLE webhook_secrets(
  user_id BIGINT PRIMARY KEY REFERENCES users(id),
  sealed TEXT NOT NULL,
  created_at BIGINT NOT NULL);
)sql",
    // 13: every change of a balance announced to the instances (their balances from memory),
    // whoever writes it: vargd, `vargd admin`, SQL by hand
    R"sql(
CREATE FUNCTION varg_balance_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('varg_balances', CAST(NEW.user_id AS TEXT));
  RETURN NULL;
END $$;
CREATE TRIGGER accounts_balance_changed AFTER INSERT OR UPDATE OF settled, reserved ON accounts
  FOR EACH ROW EXECUTE FUNCTION varg_balance_changed();
)sql",
    // 14: who uploaded which file, as SQLite's migration 11
    R"sql(
CREATE TABLE uploads(
  user_id BIGINT NOT NULL REFERENCES users(id),
  file_id TEXT NOT NULL REFERENCES files(id),
  created_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, file_id));
CREATE INDEX uploads_by_time ON uploads(user_id, created_at);
)sql",
    // 15: OAuth for MCP clients, as SQLite's migration 12
    R"sql(
CREATE TABLE oauth_clients(
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  redirect_uris TEXT NOT NULL,
  created_at BIGINT NOT NULL);
CREATE TABLE oauth_codes(
  hash TEXT PRIMARY KEY,
  client_id TEXT NOT NULL REFERENCES oauth_clients(id),
  user_id BIGINT NOT NULL REFERENCES users(id),
  redirect_uri TEXT NOT NULL,
  challenge TEXT NOT NULL,
  scope TEXT NOT NULL,
  expires_at BIGINT NOT NULL);
CREATE TABLE oauth_tokens(
  id TEXT PRIMARY KEY,
  family TEXT NOT NULL,
  client_id TEXT NOT NULL REFERENCES oauth_clients(id),
  user_id BIGINT NOT NULL REFERENCES users(id),
  scope TEXT NOT NULL,
  access_hash TEXT NOT NULL UNIQUE,
  refresh_hash TEXT NOT NULL UNIQUE,
  access_expires_at BIGINT NOT NULL,
  refresh_expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL);
CREATE INDEX oauth_tokens_family ON oauth_tokens(family);
CREATE INDEX oauth_tokens_by_user ON oauth_tokens(user_id, created_at);
)sql",
};

constexpr int64_t kMigrationLock = 0x76617267;  // "varg": one lock id for every vargd

}  // namespace

Status migrate(Conn& c) {
  // Session-level lock: a second instance starting now waits here, then finds nothing to do.
  const sql::Value lock[] = {kMigrationLock};
  auto locked = c.run("SELECT pg_advisory_lock(CAST(? AS BIGINT))", lock);
  if (!locked.ok()) return locked.status();
  Status s = sql::migrate(c, kMigrations, "BEGIN");
  c.run("SELECT pg_advisory_unlock(CAST(? AS BIGINT))", lock);
  return s;
}

}  // namespace varg::pg
