// PostgresStore: jobs (with their leases), files, the result cache, idempotency records and saved
// provider keys.
#include "store/postgres/postgres_internal.h"

namespace varg {

using pg::Conn;
using pg::Params;
using pg::Rows;

namespace {

constexpr const char* kJobCols =
    "SELECT id, user_id, capability, model, params, status, created_at, started_at, completed_at, output_file_id, "
    "output_media_type, error, cache_key, cache_hit, cache_mode, billing_mode, cost_cents, reservation, key_source, "
    "upstream_id, leader, lease_until, lease_owner FROM jobs ";

JobRecord read_job(const Rows& r, int i) {
  JobRecord j;
  j.id = r.text(i, 0);
  j.user_id = r.i64(i, 1);
  j.capability = r.text(i, 2);
  j.model = r.text(i, 3);
  j.params = r.text(i, 4);
  j.status = r.text(i, 5);
  j.created_at = r.i64(i, 6);
  j.started_at = r.opt_i64(i, 7);
  j.completed_at = r.opt_i64(i, 8);
  j.output_file_id = r.text(i, 9);
  j.output_media_type = r.text(i, 10);
  j.error = r.text(i, 11);
  j.cache_key = r.text(i, 12);
  j.cache_hit = r.boolean(i, 13);
  j.cache_mode = r.text(i, 14);
  j.billing_mode = r.text(i, 15);
  j.cost_cents = r.i64(i, 16);
  j.reservation = r.text(i, 17);
  j.key_source = r.text(i, 18);
  j.upstream_id = r.text(i, 19);
  j.leader = r.text(i, 20);
  j.lease_until = r.i64(i, 21);
  j.lease_owner = r.text(i, 22);
  return j;
}

Result<std::vector<JobRecord>> read_jobs(const Result<Rows>& r) {
  if (!r.ok()) return r.status();
  std::vector<JobRecord> out;
  for (int i = 0; i < r->size(); i++) out.push_back(read_job(*r, i));
  return out;
}

}  // namespace

namespace pg {

// Every mutable field but the lease, which only claim_job and renew_leases move.
Result<bool> update_job_in(Conn& c, const JobRecord& j, const std::string& expected) {
  auto r = c.run(
      "UPDATE jobs SET status = $1, started_at = $2, completed_at = $3, output_file_id = $4, output_media_type = $5, "
      "error = $6, cache_hit = $7, billing_mode = $8, cost_cents = $9, reservation = $10, upstream_id = $11, "
      "leader = $12 WHERE id = $13 AND status = $14",
      Params().add(j.status).add(j.started_at).add(j.completed_at).add(j.output_file_id).add(j.output_media_type)
          .add(j.error).add(j.cache_hit).add(j.billing_mode).add(j.cost_cents).add(j.reservation).add(j.upstream_id)
          .add(j.leader).add(j.id).add(expected));
  if (!r.ok()) return r.status();
  return r->affected() > 0;
}

}  // namespace pg

Status PostgresStore::insert_job(const JobRecord& j) {
  return call(false, [&](Conn& c) -> Status {
    return c.run(
                "INSERT INTO jobs(id, user_id, capability, model, params, status, created_at, started_at, completed_at, "
                "output_file_id, output_media_type, error, cache_key, cache_hit, cache_mode, billing_mode, cost_cents, "
                "reservation, key_source, upstream_id, leader, lease_until, lease_owner) "
                "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
                Params().add(j.id).add(j.user_id).add(j.capability).add(j.model).add(j.params).add(j.status)
                    .add(j.created_at).add(j.started_at).add(j.completed_at).add(j.output_file_id)
                    .add(j.output_media_type).add(j.error).add(j.cache_key).add(j.cache_hit).add(j.cache_mode)
                    .add(j.billing_mode).add(j.cost_cents).add(j.reservation).add(j.key_source).add(j.upstream_id)
                    .add(j.leader).add(j.lease_until).add(j.lease_owner))
        .status();
  });
}

Result<JobRecord> PostgresStore::job(const std::string& id) {
  return call(true, [&](Conn& c) -> Result<JobRecord> {
    auto r = c.run(std::string(kJobCols) + "WHERE id = $1", Params().add(id));
    if (!r.ok()) return r.status();
    if (r->empty()) return error(Code::not_found, "No such job");
    return read_job(*r, 0);
  });
}

Result<bool> PostgresStore::update_job(const JobRecord& j, const std::string& expected) {
  return call(false, [&](Conn& c) { return pg::update_job_in(c, j, expected); });
}

Result<bool> PostgresStore::finish_job(const JobRecord& j, const std::string& expected,
                                       const std::optional<LedgerEntry>& settle) {
  return call(false, [&](Conn& c) {
    return pg::transact(c, true, [&](Conn& t) -> Result<bool> {
      auto changed = pg::update_job_in(t, j, expected);
      if (!changed.ok() || !*changed) return changed;
      if (settle) {
        auto e = pg::append_in(t, *settle);
        if (!e.ok()) return e.status();
      }
      return true;
    });
  });
}

Result<std::vector<JobRecord>> PostgresStore::unfinished_jobs() {
  return call(true, [&](Conn& c) {
    return read_jobs(c.run(std::string(kJobCols) + "WHERE status IN ('queued', 'processing') ORDER BY created_at"));
  });
}

Result<int64_t> PostgresStore::active_jobs(int64_t user_id) {
  return call(true, [&](Conn& c) -> Result<int64_t> {
    auto r = c.run("SELECT COUNT(*) FROM jobs WHERE user_id = $1 AND status IN ('queued', 'processing')",
                   Params().add(user_id));
    if (!r.ok()) return r.status();
    return r->i64(0, 0);
  });
}

Result<std::vector<JobRecord>> PostgresStore::jobs_of(int64_t user_id, int64_t from, int64_t to, const std::string& model,
                                                      int limit) {
  return call(true, [&](Conn& c) {
    return read_jobs(c.run(std::string(kJobCols) +
                               "WHERE user_id = $1 AND created_at >= $2 AND created_at < $3 "
                               "AND ($4::TEXT = '' OR model = $4 OR model LIKE '%:' || $4::TEXT) "
                               "ORDER BY created_at DESC, id LIMIT $5",
                           Params().add(user_id).add(from).add(to).add(model).add(int64_t(limit))));
  });
}

Result<bool> PostgresStore::claim_job(const std::string& id, const std::string& owner, int64_t until, int64_t now) {
  // Safe to repeat: a second run finds the lease already ours.
  return call(true, [&](Conn& c) -> Result<bool> {
    auto r = c.run(
        "UPDATE jobs SET lease_owner = $2, lease_until = $3 WHERE id = $1 AND status IN ('queued', 'processing') "
        "AND (lease_until < $4 OR lease_owner = $2)",
        Params().add(id).add(owner).add(until).add(now));
    if (!r.ok()) return r.status();
    return r->affected() > 0;
  });
}

Status PostgresStore::renew_leases(const std::string& owner, int64_t until) {
  return call(true, [&](Conn& c) -> Status {
    return c.run("UPDATE jobs SET lease_until = $2 WHERE lease_owner = $1 AND status IN ('queued', 'processing') "
                 "AND lease_until < $2",
                 Params().add(owner).add(until))
        .status();
  });
}

// ---- files and cache ----

Result<FileRecord> PostgresStore::insert_file(const FileRecord& f, bool* existed) {
  return call(true, [&](Conn& c) -> Result<FileRecord> {
    auto ins = c.run("INSERT INTO files(id, hash, size, media_type, ext, created_at) VALUES($1, $2, $3, $4, $5, $6) "
                     "ON CONFLICT DO NOTHING",
                     Params().add(f.id).add(f.hash).add(f.size).add(f.media_type).add(f.ext).add(f.created_at));
    if (!ins.ok()) return ins.status();
    *existed = ins->affected() == 0;
    if (!*existed) return f;
    auto q = c.run("SELECT id, hash, size, media_type, ext, created_at FROM files WHERE hash = $1", Params().add(f.hash));
    if (!q.ok()) return q.status();
    if (q->empty()) return error(Code::internal, "file record vanished");
    return FileRecord{q->text(0, 0), q->text(0, 1), q->i64(0, 2), q->text(0, 3), q->text(0, 4), q->i64(0, 5)};
  });
}

Result<FileRecord> PostgresStore::file(const std::string& id) {
  return call(true, [&](Conn& c) -> Result<FileRecord> {
    auto q = c.run("SELECT id, hash, size, media_type, ext, created_at FROM files WHERE id = $1", Params().add(id));
    if (!q.ok()) return q.status();
    if (q->empty()) return error(Code::not_found, "No such file");
    return FileRecord{q->text(0, 0), q->text(0, 1), q->i64(0, 2), q->text(0, 3), q->text(0, 4), q->i64(0, 5)};
  });
}

Result<std::optional<CacheEntry>> PostgresStore::cache_get(const std::string& key, int64_t now) {
  return call(true, [&](Conn& c) -> Result<std::optional<CacheEntry>> {
    auto q = c.run("SELECT key, file_id, media_type, created_at, expires_at FROM cache WHERE key = $1 AND expires_at > $2",
                   Params().add(key).add(now));
    if (!q.ok()) return q.status();
    if (q->empty()) return std::optional<CacheEntry>();
    return std::optional<CacheEntry>(CacheEntry{q->text(0, 0), q->text(0, 1), q->text(0, 2), q->i64(0, 3), q->i64(0, 4)});
  });
}

Status PostgresStore::cache_put(const CacheEntry& e) {
  return call(true, [&](Conn& c) -> Status {
    return c.run("INSERT INTO cache(key, file_id, media_type, created_at, expires_at) VALUES($1, $2, $3, $4, $5) "
                 "ON CONFLICT (key) DO UPDATE SET file_id = $2, media_type = $3, created_at = $4, expires_at = $5",
                 Params().add(e.key).add(e.file_id).add(e.media_type).add(e.created_at).add(e.expires_at))
        .status();
  });
}

// ---- idempotency ----

Result<IdempotencyRecord> PostgresStore::idempotency_claim(const IdempotencyRecord& r, int64_t since, bool* claimed) {
  return call(false, [&](Conn& c) {
    return pg::transact(c, false, [&](Conn& t) -> Result<IdempotencyRecord> {
      auto d = t.run("DELETE FROM idempotency WHERE user_id = $1 AND key = $2 AND created_at < $3",
                     Params().add(r.user_id).add(r.key).add(since));
      if (!d.ok()) return d.status();
      // ON CONFLICT DO NOTHING waits for a concurrent claimant to commit, so exactly one wins.
      auto ins = t.run("INSERT INTO idempotency(user_id, key, body_hash, done, status, response, created_at) "
                       "VALUES($1, $2, $3, FALSE, 0, '', $4) ON CONFLICT DO NOTHING",
                       Params().add(r.user_id).add(r.key).add(r.body_hash).add(r.created_at));
      if (!ins.ok()) return ins.status();
      *claimed = ins->affected() > 0;
      IdempotencyRecord out = r;
      if (!*claimed) {
        auto q = t.run("SELECT body_hash, done, status, response, created_at FROM idempotency WHERE user_id = $1 AND key = $2",
                       Params().add(r.user_id).add(r.key));
        if (!q.ok()) return q.status();
        if (q->empty()) return error(Code::unavailable, "The idempotency record changed; retry");
        out.body_hash = q->text(0, 0);
        out.done = q->boolean(0, 1);
        out.status = int(q->i64(0, 2));
        out.response = q->text(0, 3);
        out.created_at = q->i64(0, 4);
      }
      return out;
    });
  });
}

Status PostgresStore::idempotency_finish(const IdempotencyRecord& r) {
  return call(true, [&](Conn& c) -> Status {
    return c.run("UPDATE idempotency SET done = TRUE, status = $1, response = $2 WHERE user_id = $3 AND key = $4",
                 Params().add(int64_t(r.status)).add(r.response).add(r.user_id).add(r.key))
        .status();
  });
}

Status PostgresStore::idempotency_abandon(int64_t user_id, const std::string& key) {
  return call(true, [&](Conn& c) -> Status {
    return c.run("DELETE FROM idempotency WHERE user_id = $1 AND key = $2 AND done = FALSE", Params().add(user_id).add(key))
        .status();
  });
}

// ---- provider keys ----

Status PostgresStore::put_provider_key(const ProviderKeyRecord& k) {
  return call(true, [&](Conn& c) -> Status {
    return c.run("INSERT INTO provider_keys(user_id, provider, sealed, suffix, created_at) VALUES($1, $2, $3, $4, $5) "
                 "ON CONFLICT (user_id, provider) DO UPDATE SET sealed = $3, suffix = $4, created_at = $5",
                 Params().add(k.user_id).add(k.provider).add(k.sealed).add(k.suffix).add(k.created_at))
        .status();
  });
}

Result<std::vector<ProviderKeyRecord>> PostgresStore::provider_keys(int64_t user_id) {
  return call(true, [&](Conn& c) -> Result<std::vector<ProviderKeyRecord>> {
    auto q = c.run("SELECT user_id, provider, sealed, suffix, created_at FROM provider_keys WHERE user_id = $1 ORDER BY provider",
                   Params().add(user_id));
    if (!q.ok()) return q.status();
    std::vector<ProviderKeyRecord> out;
    for (int i = 0; i < q->size(); i++) out.push_back({q->i64(i, 0), q->text(i, 1), q->text(i, 2), q->text(i, 3), q->i64(i, 4)});
    return out;
  });
}

Status PostgresStore::delete_provider_key(int64_t user_id, const std::string& provider) {
  return call(false, [&](Conn& c) -> Status {
    auto r = c.run("DELETE FROM provider_keys WHERE user_id = $1 AND provider = $2", Params().add(user_id).add(provider));
    if (!r.ok()) return r.status();
    if (r->affected() == 0) return error(Code::not_found, "No saved key for provider " + provider);
    return Status::Ok();
  });
}

}  // namespace varg
