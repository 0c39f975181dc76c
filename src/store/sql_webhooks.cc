// SqlStore: job webhooks and the accounts' signing secrets (SPEC 13).
#include "store/sql_store_internal.h"

namespace varg {

using namespace sqlstore;

namespace {

constexpr const char* kWebhookCols =
    "SELECT d.id, d.user_id, d.job_id, d.url, d.status, d.attempts, d.next_attempt_at, d.last_status, d.last_error, "
    "d.created_at, d.delivered_at FROM webhook_deliveries d ";

WebhookDelivery read_webhook(const Rows& r, int i) {
  WebhookDelivery d;
  d.id = r.text(i, 0);
  d.user_id = r.i64(i, 1);
  d.job_id = r.text(i, 2);
  d.url = r.text(i, 3);
  d.status = r.text(i, 4);
  d.attempts = int(r.i64(i, 5));
  d.next_attempt_at = r.i64(i, 6);
  d.last_status = int(r.i64(i, 7));
  d.last_error = r.text(i, 8);
  d.created_at = r.i64(i, 9);
  d.delivered_at = r.i64(i, 10);
  return d;
}

}  // namespace

namespace sqlstore {

Status insert_webhook_in(Tx& t, const WebhookDelivery& d) {
  return t.run("INSERT INTO webhook_deliveries(id, user_id, job_id, url, status, attempts, next_attempt_at, last_status, "
               "last_error, created_at, delivered_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               {d.id, d.user_id, d.job_id, d.url, d.status, int64_t(d.attempts), d.next_attempt_at, int64_t(d.last_status),
                d.last_error, d.created_at, d.delivered_at})
      .status();
}

}  // namespace sqlstore

Result<std::vector<WebhookDelivery>> SqlStore::due_webhooks(int64_t now_ms, int limit) {
  return read_all(db(),
                  std::string(kWebhookCols) +
                      "JOIN jobs j ON j.id = d.job_id WHERE d.status = 'pending' AND d.next_attempt_at <= ? "
                      "AND j.status IN ('completed', 'failed', 'cancelled') ORDER BY d.next_attempt_at LIMIT ?",
                  {now_ms, int64_t(limit)}, read_webhook);
}

Result<bool> SqlStore::claim_webhook(const std::string& id, int64_t seen_next_ms, int64_t next_ms) {
  return write_changed(db(),
                       "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ? "
                       "WHERE id = ? AND status = 'pending' AND next_attempt_at = ?",
                       {next_ms, id, seen_next_ms});
}

Status SqlStore::record_webhook(const WebhookDelivery& d) {
  return write_one(db(),
                   "UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, last_status = ?, last_error = ?, "
                   "delivered_at = ? WHERE id = ?",
                   {d.status, d.next_attempt_at, int64_t(d.last_status), d.last_error, d.delivered_at, d.id},
                   "No such webhook delivery");
}

Result<std::vector<WebhookDelivery>> SqlStore::webhooks_of(int64_t user_id, int limit) {
  return read_all(db(), std::string(kWebhookCols) + "WHERE d.user_id = ? ORDER BY d.created_at DESC, d.id DESC LIMIT ?",
                  {user_id, int64_t(limit)}, read_webhook);
}

Result<std::string> SqlStore::put_webhook_secret(int64_t user_id, const std::string& sealed, bool replace, int64_t now) {
  std::string out;
  VARG_TRY(db().write([&](Tx& t) -> Status {
    VARG_TRY(t.run(std::string("INSERT INTO webhook_secrets(user_id, sealed, created_at) VALUES(?, ?, ?) ON CONFLICT (user_id) ") +
                       (replace ? "DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at" : "DO NOTHING"),
                   {user_id, sealed, now}));
    auto r = t.run("SELECT sealed FROM webhook_secrets WHERE user_id = ?", {user_id});
    if (!r.ok()) return r.status();
    out = r->text(0, 0);
    return Status::Ok();
  }));
  return out;
}

Result<std::optional<std::string>> SqlStore::webhook_secret(int64_t user_id) {
  auto r = read_one(db(), "", "SELECT sealed FROM webhook_secrets WHERE user_id = ?", {user_id},
                    [](const Rows& rows, int i) { return std::optional<std::string>(rows.text(i, 0)); });
  if (!r.ok() && r.status().code == Code::not_found) return std::optional<std::string>();
  return r;
}

}  // namespace varg
