// PostgresStore: the Store for several vargd instances on one PostgreSQL database (libpq). A
// bounded pool of connections, each with its prepared statements; numbered migrations applied
// under an advisory lock so instances starting together are safe; a connection the server dropped
// (restart, failover) is reset on its next use and the call retried once when that cannot apply a
// write twice. Calls block: vargd runs them on its worker pool, never on a network thread.
#pragma once
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/store.h"

namespace varg {

namespace pg {
class Conn;
}

class PostgresStore final : public Store {
 public:
  struct Options {
    int connections = 8;             // pool size: at most this many calls run at once
    int statement_timeout_ms = 10000;
    int pool_wait_ms = 10000;        // a call waiting longer for a connection is unavailable (503)
  };
  // Connects (url: postgres:// or postgresql://, or any libpq connection string) and applies
  // pending migrations.
  static Result<std::unique_ptr<PostgresStore>> open(const std::string& url, Options opts);
  ~PostgresStore() override;

  // The instances' common server secret (hex) kept in the database: the stored one, or `fresh`
  // stored now if there is none yet. For deployments that do not set --secret on every instance.
  Result<std::string> shared_secret(const std::string& fresh);

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
  Result<JobRecord> job(const std::string& id) override;
  Result<bool> update_job(const JobRecord& job, const std::string& expected_status) override;
  Result<bool> finish_job(const JobRecord& job, const std::string& expected_status,
                          const std::optional<LedgerEntry>& settle) override;
  Result<std::vector<JobRecord>> unfinished_jobs() override;
  Result<int64_t> active_jobs(int64_t user_id) override;
  Result<std::vector<JobRecord>> jobs_of(int64_t user_id, int64_t from, int64_t to, const std::string& model,
                                        int limit) override;
  Result<bool> claim_job(const std::string& id, const std::string& owner, int64_t until, int64_t now) override;
  Status renew_leases(const std::string& owner, int64_t until) override;

  Result<FileRecord> insert_file(const FileRecord& f, bool* existed) override;
  Result<FileRecord> file(const std::string& id) override;
  Result<std::optional<CacheEntry>> cache_get(const std::string& key, int64_t now) override;
  Status cache_put(const CacheEntry& e) override;

  Result<IdempotencyRecord> idempotency_claim(const IdempotencyRecord& r, int64_t since, bool* claimed) override;
  Status idempotency_finish(const IdempotencyRecord& r) override;
  Status idempotency_abandon(int64_t user_id, const std::string& key) override;

  Status put_provider_key(const ProviderKeyRecord& k) override;
  Result<std::vector<ProviderKeyRecord>> provider_keys(int64_t user_id) override;
  Status delete_provider_key(int64_t user_id, const std::string& provider) override;

  Status insert_render_job(const RenderJobRecord& r) override;
  Result<bool> update_render_job(const RenderJobRecord& r, const std::string& expected_status) override;
  Result<RenderJobRecord> render_job(const std::string& id) override;
  Result<std::vector<RenderJobRecord>> render_jobs_of(int64_t user_id, int limit) override;
  Result<std::vector<RenderJobRecord>> unfinished_render_jobs() override;

  class Lease;  // a pooled connection checked out for one call

 private:
  explicit PostgresStore(Options o);
  Result<Lease> lease();
  void give_back(pg::Conn* c);
  // Runs fn(conn) on a pooled connection; when the connection broke under a call that is safe to
  // repeat (a read, or a write that is idempotent by its own keys), resets it and runs fn once more.
  template <class F>
  auto call(bool retry_safe, F&& fn) -> decltype(fn(std::declval<pg::Conn&>()));

  Options opts_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pg::Conn>> all_;
  std::vector<pg::Conn*> idle_;
};

}  // namespace varg
