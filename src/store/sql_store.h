// SqlStore: every Store rule written once, in SQL both engines run, over sql::Db. Reads go to the
// read pool; every write is one Db::write operation (group-committed, serial with all other
// writes), so a rule reads, decides and writes as if it ran alone. SqliteStore and PostgresStore
// differ only in how they connect, migrate and name their transaction (store/sql/db.h).
#pragma once
#include <memory>

#include "store/sql/db.h"
#include "store/store.h"

namespace varg {

class SqlStore : public Store {
 public:
  explicit SqlStore(std::unique_ptr<sql::Db> db) : db_(std::move(db)) {}

  Result<User> create_user(const std::string& email, int64_t now) override;
  Result<User> user_by_email(const std::string& email) override;
  Result<User> user_by_id(int64_t id) override;
  Result<std::vector<User>> list_users() override;

  Result<ApiKeyRecord> insert_key(const ApiKeyRecord& key) override;
  Result<ApiKeyRecord> key_by_hash(const std::string& hash) override;
  Result<std::vector<ApiKeyRecord>> keys_of(int64_t user_id) override;
  Result<ApiKeyRecord> key_of(int64_t user_id, int64_t key_id) override;
  Status revoke_key(int64_t key_id, int64_t user_id, int64_t now) override;
  Result<ApiKeyRecord> rotate_key(int64_t old_key_id, const ApiKeyRecord& fresh, int64_t now) override;
  Status touch_key(int64_t key_id, int64_t now) override;
  Result<std::vector<int64_t>> revoked_since(int64_t since) override;

  Status insert_session(const SessionRecord& s) override;
  Result<SessionRecord> session_by_hash(const std::string& hash) override;
  Status delete_session(const std::string& hash) override;

  Result<LedgerEntry> append(const LedgerEntry& entry) override;
  Result<Balance> balance(int64_t user_id) override;
  Result<Balance> ledger_sum(int64_t user_id) override;
  Result<std::vector<LedgerEntry>> entries(int64_t user_id, int limit) override;

  Status put_otp(const std::string& email, const std::string& code_hash, int64_t expires_at, int64_t now) override;
  Result<OtpCheck> check_otp(const std::string& email, const std::string& code_hash, int max_attempts,
                             int64_t now) override;
  Status record_otp_send(const std::string& email, const std::string& ip, int64_t now) override;
  Result<SendCounts> otp_sends_since(const std::string& email, const std::string& ip, int64_t since) override;

  Status insert_job(const JobRecord& job) override;
  Status insert_jobs(const std::vector<JobRecord>& jobs) override;
  Result<JobRecord> job(const std::string& id) override;
  Result<Admitted> admit_job(const Admission& a) override;
  Result<std::optional<JobRecord>> resolve_job(const Resolution& r) override;
  Result<Moved> transition_job(const Transition& t) override;
  std::vector<std::string> job_changes(int) override { return {}; }
  Result<std::vector<JobRecord>> unfinished_jobs() override;
  Result<int64_t> active_jobs(int64_t user_id) override;
  Result<std::vector<Hold>> orphan_holds(int64_t before) override;
  Result<Audit> audit() override;
  Status backup(const std::string& path) override;
  std::string metrics() override;
  Result<bool> claim_job(const std::string& id, const std::string& owner, int64_t until, int64_t now) override;
  Status renew_leases(const std::string& owner, int64_t until) override;
  Status release_leases(const std::string& owner) override;
  Result<std::vector<JobRecord>> jobs_of(int64_t user_id, int64_t from, int64_t to, const std::string& model,
                                        int limit) override;

  Result<FileRecord> insert_file(const FileRecord& f, bool* existed) override;
  Status record_upload(int64_t user_id, const std::string& file_id, int64_t now) override;
  Result<std::vector<Upload>> uploads_page(const UploadPage& q) override;
  Status insert_oauth_client(const OAuthClient& c) override;
  Result<OAuthClient> oauth_client(const std::string& id) override;
  Status insert_oauth_code(const OAuthCode& c) override;
  Result<OAuthCode> take_oauth_code(const std::string& hash, int64_t now) override;
  Status insert_oauth_token(const OAuthToken& t) override;
  Result<OAuthToken> oauth_token_by_access(const std::string& hash) override;
  Result<OAuthToken> oauth_token_by_refresh(const std::string& hash) override;
  Result<OAuthToken> rotate_oauth_token(const std::string& refresh_hash, OAuthToken next, int64_t now) override;
  Result<bool> revoke_oauth_family(int64_t user_id, const std::string& family, int64_t now) override;
  Result<std::vector<OAuthToken>> oauth_tokens_of(int64_t user_id, int64_t now) override;
  Result<FileRecord> file(const std::string& id) override;
  Result<std::optional<CacheEntry>> cache_get(const std::string& key, int64_t now) override;
  Status cache_put(const CacheEntry& e) override;

  Result<IdempotencyRecord> idempotency_claim(const IdempotencyRecord& r, int64_t since, int64_t pending_since,
                                              bool* claimed) override;
  Status idempotency_finish(const IdempotencyRecord& r) override;
  Status idempotency_abandon(const IdempotencyRecord& r) override;

  Result<int> take_requests(int64_t user_id, int64_t now_ms, int per_minute, int want) override;

  Status put_provider_key(const ProviderKeyRecord& k) override;
  Result<std::vector<ProviderKeyRecord>> provider_keys(int64_t user_id) override;
  Status delete_provider_key(int64_t user_id, const std::string& provider) override;

  Result<std::vector<WebhookDelivery>> due_webhooks(int64_t now_ms, int limit) override;
  Result<bool> claim_webhook(const std::string& id, int64_t seen_next_ms, int64_t next_ms) override;
  Status record_webhook(const WebhookDelivery& d) override;
  Result<std::vector<WebhookDelivery>> webhooks_of(int64_t user_id, int limit) override;
  Result<std::string> put_webhook_secret(int64_t user_id, const std::string& sealed, bool replace, int64_t now) override;
  Result<std::optional<std::string>> webhook_secret(int64_t user_id) override;

  Status insert_render_job(const RenderJobRecord& job) override;
  Result<bool> update_render_job(const RenderJobRecord& job, const std::string& expected_status) override;
  Result<RenderJobRecord> render_job(const std::string& id) override;
  Result<std::vector<JobRecord>> jobs_page(const JobPage& q) override;
  Result<std::vector<RenderJobRecord>> render_jobs_of(int64_t user_id, int limit) override;
  Result<std::vector<RenderJobRecord>> unfinished_render_jobs() override;

  sql::Db::Counters db_counters() { return db_->counters(); }

 protected:
  sql::Db& db() { return *db_; }

 private:
  std::unique_ptr<sql::Db> db_;
};

}  // namespace varg
