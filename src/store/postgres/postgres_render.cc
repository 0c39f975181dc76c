// PostgresStore: Cloud Render jobs (render_jobs, migration 4), with SQLite's semantics: a
// conditional update that writes only when the stored status is the expected one, listings newest
// first (ties by id, descending, compared bytewise as SQLite does), unfinished meaning status 'rendering'.
#include "store/postgres/postgres_internal.h"

namespace varg {

using pg::Conn;
using pg::Params;
using pg::Rows;

namespace {

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

Result<std::vector<RenderJobRecord>> read_render_jobs(const Result<Rows>& r) {
  if (!r.ok()) return r.status();
  std::vector<RenderJobRecord> out;
  for (int i = 0; i < r->size(); i++) out.push_back(read_render_job(*r, i));
  return out;
}

}  // namespace

Status PostgresStore::insert_render_job(const RenderJobRecord& j) {
  // Not retried on a broken connection: a repeat after a committed insert would be a duplicate key.
  return call(false, [&](Conn& c) -> Status {
    return c.run("INSERT INTO render_jobs(id, user_id, status, mode, output, output_url, thumbnail_url, files, error, "
                 "error_category, duration_ms, created_at, started_at, completed_at) "
                 "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                 Params().add(j.id).add(j.user_id).add(j.status).add(j.mode).add(j.output).add(j.output_url)
                     .add(j.thumbnail_url).add(j.files).add(j.error).add(j.error_category).add(j.duration_ms)
                     .add(j.created_at).add(j.started_at).add(j.completed_at))
        .status();
  });
}

Result<bool> PostgresStore::update_render_job(const RenderJobRecord& j, const std::string& expected_status) {
  // Not retried: a repeat after a committed status change would report false for a write that happened.
  return call(false, [&](Conn& c) -> Result<bool> {
    auto r = c.run(
        "UPDATE render_jobs SET status = $1, output_url = $2, thumbnail_url = $3, files = $4, error = $5, "
        "error_category = $6, duration_ms = $7, started_at = $8, completed_at = $9 WHERE id = $10 AND status = $11",
        Params().add(j.status).add(j.output_url).add(j.thumbnail_url).add(j.files).add(j.error).add(j.error_category)
            .add(j.duration_ms).add(j.started_at).add(j.completed_at).add(j.id).add(expected_status));
    if (!r.ok()) return r.status();
    return r->affected() > 0;
  });
}

Result<RenderJobRecord> PostgresStore::render_job(const std::string& id) {
  return call(true, [&](Conn& c) -> Result<RenderJobRecord> {
    auto r = c.run(std::string(kRenderCols) + "WHERE id = $1", Params().add(id));
    if (!r.ok()) return r.status();
    if (r->empty()) return error(Code::not_found, "No such render job");
    return read_render_job(*r, 0);
  });
}

Result<std::vector<RenderJobRecord>> PostgresStore::render_jobs_of(int64_t user_id, int limit) {
  return call(true, [&](Conn& c) {
    // SQLite treats a negative LIMIT as none; PostgreSQL refuses it, so map it to NULL (no limit).
    Params p;
    p.add(user_id);
    if (limit < 0) p.add(std::optional<int64_t>()); else p.add(int64_t(limit));
    return read_render_jobs(
        c.run(std::string(kRenderCols) + "WHERE user_id = $1 ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT $2::BIGINT", p));
  });
}

Result<std::vector<RenderJobRecord>> PostgresStore::unfinished_render_jobs() {
  return call(true, [&](Conn& c) { return read_render_jobs(c.run(std::string(kRenderCols) + "WHERE status = 'rendering'")); });
}

}  // namespace varg
