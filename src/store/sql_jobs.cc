// SqlStore: generation jobs (with their leases and their settlement) and Cloud Render jobs.
#include <limits>

#include "store/sql_store_internal.h"

namespace varg {

using namespace sqlstore;

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
  // An unreadable status is no live job: it never runs, is never charged, and recovery frees its hold.
  j.status = job_status_from(r.text(i, 5)).value_or(JobStatus::failed);
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

constexpr const char* kRenderCols =
    "SELECT id, user_id, status, mode, output, output_url, thumbnail_url, files, error, error_category, duration_ms, "
    "created_at, started_at, completed_at FROM render_jobs ";

RenderJobRecord read_render_job(const Rows& r, int i) {
  RenderJobRecord j;
  j.id = r.text(i, 0);
  j.user_id = r.i64(i, 1);
  j.status = r.text(i, 2);
  j.mode = r.text(i, 3);
  j.output = r.text(i, 4);
  j.output_url = r.text(i, 5);
  j.thumbnail_url = r.text(i, 6);
  j.files = r.text(i, 7);
  j.error = r.text(i, 8);
  j.error_category = r.text(i, 9);
  j.duration_ms = r.i64(i, 10);
  j.created_at = r.i64(i, 11);
  j.started_at = r.opt_i64(i, 12);
  j.completed_at = r.opt_i64(i, 13);
  return j;
}

}  // namespace

namespace {

// The account's count of live jobs moves with every job that starts or stops being live.
Status count_active(Tx& t, int64_t user_id, int delta) {
  if (delta > 0) VARG_TRY(t.run("INSERT INTO accounts(user_id) VALUES(?) ON CONFLICT DO NOTHING", {user_id}));
  return t.run("UPDATE accounts SET active = active + ? WHERE user_id = ?", {int64_t(delta), user_id}).status();
}

Status insert_job_in(Tx& t, const JobRecord& j) {
  VARG_TRY(t.run("INSERT INTO jobs(id, user_id, capability, model, params, status, created_at, started_at, "
                 "completed_at, output_file_id, output_media_type, error, cache_key, cache_hit, cache_mode, "
                 "billing_mode, cost_cents, reservation, key_source, upstream_id, leader, lease_until, lease_owner) "
                 "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 {j.id, j.user_id, j.capability, j.model, j.params, job_status_name(j.status), j.created_at,
                  j.started_at, j.completed_at, j.output_file_id, j.output_media_type, j.error, j.cache_key,
                  j.cache_hit, j.cache_mode, j.billing_mode, j.cost_cents, j.reservation, j.key_source,
                  j.upstream_id, j.leader, j.lease_until, j.lease_owner}));
  return is_live(j.status) ? count_active(t, j.user_id, +1) : Status::Ok();
}

// Every mutable field but the lease (claim_job and renew_leases move it), if the stored status is
// still `from`.
Result<bool> update_job_in(Tx& t, const JobRecord& j, JobStatus from) {
  if (!job_move_allowed(from, j.status))
    return error(Code::internal, std::string("job ") + j.id + " cannot move from " + job_status_name(from) + " to " +
                                     job_status_name(j.status));
  auto r = t.run(
      "UPDATE jobs SET status = ?, started_at = ?, completed_at = ?, output_file_id = ?, output_media_type = ?, "
      "error = ?, cache_hit = ?, billing_mode = ?, cost_cents = ?, reservation = ?, upstream_id = ?, leader = ? "
      "WHERE id = ? AND status = ?",
      {job_status_name(j.status), j.started_at, j.completed_at, j.output_file_id, j.output_media_type, j.error,
       j.cache_hit, j.billing_mode, j.cost_cents, j.reservation, j.upstream_id, j.leader, j.id, job_status_name(from)});
  if (!r.ok()) return r.status();
  if (r->affected() == 0) return false;
  if (is_live(from) != is_live(j.status)) VARG_TRY(count_active(t, j.user_id, is_live(j.status) ? +1 : -1));
  return true;
}

// The live followers of a leader that stopped being live, resolved with it.
Result<std::vector<std::string>> resolve_followers(Tx& t, const JobRecord& leader) {
  // CAST: a bare `leader = ?` made SQLite re-prepare the statement on every bind (it checks the
  // bound value against jobs_followers' `leader <> ''`); the live jobs' index serves it anyway.
  auto rows = t.run(std::string(kJobCols) + "WHERE leader = CAST(? AS TEXT) AND status IN ('queued', 'processing')",
                    {leader.id});
  if (!rows.ok()) return rows.status();
  std::vector<std::string> out;
  for (int i = 0; i < rows->size(); i++) {
    JobRecord f = read_job(*rows, i);
    const JobStatus from = f.status;
    if (leader.status == JobStatus::completed) {
      f.complete_from_cache(leader.output_file_id, leader.output_media_type, leader.completed_at.value_or(0));
    } else {
      // Failures are never cached: the follower fails the same way rather than silently spending
      // on a retry its caller did not ask for.
      f.status = JobStatus::failed;
      f.completed_at = leader.completed_at;
      f.leader.clear();
      f.error = leader.error.empty() ? "the identical request this one waited for was cancelled" : leader.error;
    }
    auto moved = update_job_in(t, f, from);
    if (!moved.ok()) return moved.status();
    if (*moved) out.push_back(f.id);
  }
  return out;
}

}  // namespace

Status SqlStore::insert_job(const JobRecord& j) {
  return db().write([&](Tx& t) { return insert_job_in(t, j); });
}

Status SqlStore::insert_jobs(const std::vector<JobRecord>& jobs) {
  return db().write([&](Tx& t) -> Status {
    for (auto& j : jobs) {
      if (is_live(j.status)) return error(Code::internal, "insert_jobs takes finished jobs only");
      auto there = t.run("SELECT 1 FROM jobs WHERE id = ?", {j.id});
      if (!there.ok()) return there.status();
      if (there->empty()) VARG_TRY(insert_job_in(t, j));
    }
    return Status::Ok();
  });
}

Result<JobRecord> SqlStore::job(const std::string& id) {
  return read_one(db(), "No such job", std::string(kJobCols) + "WHERE id = ?", {id}, read_job);
}

namespace {

// The choice admission and resolution make once a job's cache key is known: its result is cached
// (the job completes at once), or an identical job is live (this one follows it), or neither.
enum class Flight { hit, follower, run };

Result<Flight> choose_flight(Tx& t, JobRecord& j, bool lookup_cache, bool join_flight, int64_t now) {
  if (j.cache_key.empty()) return Flight::run;
  if (lookup_cache) {
    auto hit = t.run("SELECT file_id, media_type FROM cache WHERE key = ? AND expires_at > ?", {j.cache_key, now});
    if (!hit.ok()) return hit.status();
    if (!hit->empty()) {
      j.complete_from_cache(hit->text(0, 0), hit->text(0, 1), now);
      return Flight::hit;
    }
  }
  if (join_flight) {
    auto leader = t.run("SELECT id FROM jobs WHERE cache_key = ? AND leader = '' AND cache_mode <> 'no-store' "
                        "AND status IN ('queued', 'processing') AND id <> ? LIMIT 1",
                        {j.cache_key, j.id});
    if (!leader.ok()) return leader.status();
    if (!leader->empty()) {
      j.leader = leader->text(0, 0);
      j.billing_mode = "cached";
      j.cost_cents = 0;
      j.cache_hit = true;
      j.reservation.clear();
      return Flight::follower;
    }
  }
  return Flight::run;
}

}  // namespace

Result<Store::Admitted> SqlStore::admit_job(const Admission& a) {
  Admitted out;
  VARG_TRY(db().write([&](Tx& t) -> Status {
    out = Admitted{a.job, false};
    JobRecord& j = out.job;
    if (a.idempotency) {  // a retry of an admitted request replays it, whatever happened since
      const IdempotencyRecord& r = *a.idempotency;
      VARG_TRY(t.run(std::string("DELETE FROM idempotency WHERE ") + kIdemScope + " AND created_at < ?",
                     {r.user_id, r.api_key_id, r.route, r.key, a.idempotency_since}));
      auto prior = t.run(std::string("SELECT body_hash, response FROM idempotency WHERE ") + kIdemScope,
                         {r.user_id, r.api_key_id, r.route, r.key});
      if (!prior.ok()) return prior.status();
      if (!prior->empty()) {
        if (prior->text(0, 0) != r.body_hash)
          return error(Code::conflict, "This Idempotency-Key was already used with a different request");
        auto first = t.run(std::string(kJobCols) + "WHERE id = ?", {prior->text(0, 1)});
        if (!first.ok()) return first.status();
        if (first->empty()) return error(Code::conflict, "This Idempotency-Key names a job that no longer exists");
        out = Admitted{read_job(*first, 0), true};
        return Status::Ok();
      }
    }
    auto flight = choose_flight(t, j, a.lookup_cache, a.join_flight, a.now);
    if (!flight.ok()) return flight.status();
    if (*flight == Flight::run && !a.unless_hit.ok()) return a.unless_hit;  // a follower needs no key either
    if (*flight != Flight::hit && a.max_active > 0) {
      auto n = t.run("SELECT active FROM accounts WHERE user_id = ?", {j.user_id});
      if (!n.ok()) return n.status();
      if (!n->empty() && n->i64(0, 0) >= a.max_active) {
        Status st = error(Code::rate_limited, "Too many generations in progress for this account (" +
                                                  std::to_string(a.max_active) + "); wait for some to finish");
        st.retry_after = 2;
        return st;
      }
    }
    if (a.hold && *flight == Flight::run) VARG_TRY(append_in(t, *a.hold));
    VARG_TRY(insert_job_in(t, j));
    if (a.webhook) {
      WebhookDelivery d = *a.webhook;
      d.job_id = j.id;
      VARG_TRY(insert_webhook_in(t, d));
    }
    if (!a.idempotency) return Status::Ok();
    const IdempotencyRecord& r = *a.idempotency;
    return t.run("INSERT INTO idempotency(user_id, api_key_id, route, key, body_hash, done, status, response, withheld, "
                 "created_at) VALUES(?, ?, ?, ?, ?, ?, 202, ?, ?, ?)",
                 {r.user_id, r.api_key_id, r.route, r.key, r.body_hash, true, j.id, false, r.created_at})
        .status();
  }));
  return out;
}

Result<std::optional<JobRecord>> SqlStore::resolve_job(const Resolution& r) {
  std::optional<JobRecord> out;
  VARG_TRY(db().write([&](Tx& t) -> Status {
    out.reset();
    JobRecord j = r.job;
    auto flight = choose_flight(t, j, r.lookup_cache, r.join_flight, r.now);
    if (!flight.ok()) return flight.status();
    auto moved = update_job_in(t, j, r.from);
    if (!moved.ok()) return moved.status();
    if (!*moved) return Status::Ok();
    VARG_TRY(t.run("UPDATE jobs SET params = ?, cache_key = ? WHERE id = ?", {j.params, j.cache_key, j.id}));
    if (*flight != Flight::run && r.release)  // free after all: the hold goes back
      VARG_TRY(append_in(t, *r.release));
    out = std::move(j);
    return Status::Ok();
  }));
  return out;
}

Result<Store::Moved> SqlStore::transition_job(const Transition& tr) {
  Moved out;
  VARG_TRY(db().write([&](Tx& t) -> Status {
    out = Moved{};
    auto moved = update_job_in(t, tr.job, tr.from);
    if (!moved.ok()) return moved.status();
    if (!*moved) return Status::Ok();
    out.applied = true;
    if (tr.file)
      VARG_TRY(t.run("INSERT INTO files(id, hash, size, media_type, ext, created_at) VALUES(?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT DO NOTHING",
                     {tr.file->id, tr.file->hash, tr.file->size, tr.file->media_type, tr.file->ext, tr.file->created_at}));
    if (tr.entry) VARG_TRY(append_in(t, *tr.entry));  // a failed settlement undoes the move too
    if (tr.publish && tr.job.status == JobStatus::completed)  // cached only with its completion
      VARG_TRY(t.run("INSERT INTO cache(key, file_id, media_type, created_at, expires_at) VALUES(?, ?, ?, ?, ?) "
                     "ON CONFLICT (key) DO UPDATE SET file_id = excluded.file_id, media_type = excluded.media_type, "
                     "created_at = excluded.created_at, expires_at = excluded.expires_at",
                     {tr.publish->key, tr.publish->file_id, tr.publish->media_type, tr.publish->created_at,
                      tr.publish->expires_at}));
    if (is_live(tr.from) && !is_live(tr.job.status) && tr.job.leader.empty()) {
      auto followers = resolve_followers(t, tr.job);
      if (!followers.ok()) return followers.status();
      out.followers = std::move(*followers);
    }
    if (!db().announce_sql().empty()) {  // delivered to the other instances when this commits
      std::string ids = tr.job.id;
      for (auto& f : out.followers) ids += "," + f;
      VARG_TRY(t.run(db().announce_sql(), {ids}));
    }
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<JobRecord>> SqlStore::unfinished_jobs() {
  return read_all(db(), std::string(kJobCols) + "WHERE status IN ('queued', 'processing') ORDER BY created_at", {},
                  read_job);
}

Result<int64_t> SqlStore::active_jobs(int64_t user_id) {
  auto n = read_one(db(), "", "SELECT active FROM accounts WHERE user_id = ?", {user_id},
                    [](const Rows& r, int i) { return r.i64(i, 0); });
  if (!n.ok() && n.status().code == Code::not_found) return int64_t(0);
  return n;
}

Result<std::vector<Store::Hold>> SqlStore::orphan_holds(int64_t before) {
  return read_all(db(),
                  "SELECT h.reservation, h.user_id, h.job_id, h.amount, h.created_at FROM holds h "
                  "LEFT JOIN jobs j ON j.id = h.job_id "
                  "WHERE h.created_at < ? AND (j.id IS NULL OR j.status NOT IN ('queued', 'processing'))",
                  {before}, [](const Rows& r, int i) {
                    return Hold{r.text(i, 0), r.i64(i, 1), r.text(i, 2), r.i64(i, 3), r.i64(i, 4)};
                  });
}

Result<bool> SqlStore::claim_job(const std::string& id, const std::string& owner, int64_t until, int64_t now) {
  return write_changed(db(),
                       "UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id = ? AND status IN ('queued', "
                       "'processing') AND (lease_until < ? OR lease_owner = ?)",
                       {owner, until, id, now, owner});
}

Status SqlStore::renew_leases(const std::string& owner, int64_t until) {
  return write_one(db(),
                   "UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND status IN ('queued', 'processing') "
                   "AND lease_until < ?",
                   {until, owner, until});
}

Status SqlStore::release_leases(const std::string& owner) {
  return write_one(db(), "UPDATE jobs SET lease_until = 0 WHERE lease_owner = ? AND status IN ('queued', 'processing')", {owner});
}

Result<std::vector<JobRecord>> SqlStore::jobs_of(int64_t user_id, int64_t from, int64_t to, const std::string& model,
                                                 int limit) {
  return read_all(db(),
                  std::string(kJobCols) +
                      "WHERE user_id = ? AND created_at >= ? AND created_at < ? AND (CAST(? AS TEXT) = '' OR model = ? "
                      "OR model LIKE '%:' || CAST(? AS TEXT)) ORDER BY created_at DESC, id LIMIT ?",
                  {user_id, from, to, model, model, model, int64_t(limit)}, read_job);
}

Result<std::vector<JobRecord>> SqlStore::jobs_page(const JobPage& q) {
  const bool after = !q.after_id.empty();
  return read_all(db(),
                  std::string(kJobCols) +
                      "WHERE user_id = ? AND (CAST(? AS TEXT) = '' OR capability = ?) AND (CAST(? AS TEXT) = '' OR status = ?) "
                      "AND (? = 0 OR created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?",
                  {q.user_id, q.capability, q.capability, q.status, q.status, int64_t(after), q.after_created,
                   q.after_created, q.after_id, int64_t(q.limit)},
                  read_job);
}

// ---- render jobs ----

Status SqlStore::insert_render_job(const RenderJobRecord& j) {
  return write_one(db(),
                   "INSERT INTO render_jobs(id, user_id, status, mode, output, output_url, thumbnail_url, files, error, "
                   "error_category, duration_ms, created_at, started_at, completed_at) "
                   "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   {j.id, j.user_id, j.status, j.mode, j.output, j.output_url, j.thumbnail_url, j.files, j.error,
                    j.error_category, j.duration_ms, j.created_at, j.started_at, j.completed_at});
}

Result<bool> SqlStore::update_render_job(const RenderJobRecord& j, const std::string& expected_status) {
  return write_changed(db(),
                       "UPDATE render_jobs SET status = ?, output_url = ?, thumbnail_url = ?, files = ?, error = ?, "
                       "error_category = ?, duration_ms = ?, started_at = ?, completed_at = ? WHERE id = ? AND status = ?",
                       {j.status, j.output_url, j.thumbnail_url, j.files, j.error, j.error_category, j.duration_ms,
                        j.started_at, j.completed_at, j.id, expected_status});
}

Result<RenderJobRecord> SqlStore::render_job(const std::string& id) {
  return read_one(db(), "No such render job", std::string(kRenderCols) + "WHERE id = ?", {id}, read_render_job);
}

Result<std::vector<RenderJobRecord>> SqlStore::render_jobs_of(int64_t user_id, int limit) {
  const int64_t n = limit < 0 ? std::numeric_limits<int64_t>::max() : limit;  // negative: no limit
  return read_all(db(), std::string(kRenderCols) + "WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
                  {user_id, n}, read_render_job);
}

Result<std::vector<RenderJobRecord>> SqlStore::unfinished_render_jobs() {
  return read_all(db(), std::string(kRenderCols) + "WHERE status = 'rendering'", {}, read_render_job);
}

}  // namespace varg
