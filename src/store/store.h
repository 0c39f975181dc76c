// The Store: every durable fact of varg behind one interface, implemented by SQLite (embedded
// default) and PostgreSQL (several instances). Calls are synchronous and may block on I/O: the server runs them
// on its bounded worker pool, never on a network thread. All money is integer credits.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace varg {

struct User {
  int64_t id = 0;
  std::string email;
  int64_t created_at = 0;
};

struct ApiKeyRecord {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string name;
  std::string prefix;  // display prefix, e.g. "varg_ab12"
  std::string hash;    // hex of the peppered hash; the key itself is never stored
  std::optional<std::string> permissions;  // JSON document, null = full rights of the user
  int64_t created_at = 0;
  std::optional<int64_t> last_used_at, expires_at, revoked_at;
};

struct SessionRecord {
  std::string hash;  // hex of the peppered hash of the access token
  int64_t user_id = 0;
  int64_t created_at = 0;
  int64_t expires_at = 0;
};

enum class EntryKind { grant, purchase, reserve, capture, release, refund, adjustment };
const char* entry_kind_name(EntryKind k);
std::optional<EntryKind> entry_kind_from(const std::string& s);

// One append-only ledger line. `amount` is positive except for a negative adjustment.
// capture and release name the reserve they settle by its idempotency id in `ref`.
struct LedgerEntry {
  int64_t id = 0;
  int64_t user_id = 0;
  EntryKind kind = EntryKind::grant;
  int64_t amount = 0;
  std::string idempotency_id;
  std::string ref;  // job, payment or reservation reference
  int64_t created_at = 0;
};

struct Balance {
  int64_t settled = 0;   // credits owned
  int64_t reserved = 0;  // held by open reservations
  int64_t available() const { return settled - reserved; }
};

struct OtpCheck {
  enum Outcome { accepted, wrong, dead } outcome = wrong;  // dead: expired, used up or absent
};

constexpr int kLiveOtpCodes = 3;  // per email

// The login-code rule, the same for every store: given the email's unexpired codes (hash, wrong
// attempts so far), accepted when a usable one matches (every hash compared in constant time),
// dead when none is usable, wrong otherwise.
OtpCheck::Outcome judge_otp(const std::vector<std::pair<std::string, int64_t>>& live, const std::string& code_hash,
                            int max_attempts);

// A generation job's state machine (SPEC 6): queued → processing → completed | failed | cancelled,
// and queued → completed | failed | cancelled directly (a cache hit, a refusal, a cancel). Every
// move is a compare-and-set in the store (Store::transition_job).
enum class JobStatus { queued, processing, completed, failed, cancelled };
const char* job_status_name(JobStatus s);
std::optional<JobStatus> job_status_from(std::string_view s);
inline bool is_live(JobStatus s) { return s == JobStatus::queued || s == JobStatus::processing; }
// Whether `to` may follow `from` (a live state may also stay as it is, with new fields).
bool job_move_allowed(JobStatus from, JobStatus to);

// A generation job (SPEC 6).
struct JobRecord {
  std::string id;  // "job_..."
  int64_t user_id = 0;
  std::string capability;  // image | video | speech | music | transcription
  std::string model;       // "provider:model"
  std::string params;      // normalized request parameters, JSON
  JobStatus status = JobStatus::queued;
  int64_t created_at = 0;
  std::optional<int64_t> started_at, completed_at;
  std::string output_file_id, output_media_type;
  std::string error;
  std::string cache_key;  // "sha256:..."
  bool cache_hit = false;
  std::string cache_mode;    // "" (lookup and store) | no-cache | no-store
  std::string billing_mode;  // metered | byok | cached | free
  int64_t cost_cents = 0;
  std::string reservation;  // idempotency id of the reserve entry; "" when nothing was reserved
  std::string key_source;   // header | saved | pooled | none (never the key)
  std::string upstream_id;  // the provider's request id, to resume or cancel after a restart
  std::string leader;       // single flight: the live job whose result this one waits for
  int64_t lease_until = 0;  // a running instance's claim on the job (ms)
  std::string lease_owner;

  // Completed at `now` with a cached result: free, nothing reserved, waiting for nobody.
  void complete_from_cache(const std::string& file_id, const std::string& media_type, int64_t now);
};

// One webhook of a job (SPEC 13), written with the job at admission and delivered once the job is
// terminal: at least once, retried with backoff, the same id (Webhook-Id) on every attempt.
struct WebhookDelivery {
  std::string id;  // "msg_..."
  int64_t user_id = 0;
  std::string job_id, url;
  std::string status = "pending";  // pending | delivered | failed
  int attempts = 0;
  int64_t next_attempt_at = 0;  // ms
  int last_status = 0;          // the receiver's last HTTP status; 0: no answer
  std::string last_error;
  int64_t created_at = 0, delivered_at = 0;  // s
};

struct FileRecord {
  std::string id;  // unguessable, derived from the content hash with a server secret
  std::string hash;  // sha256 hex of the content
  int64_t size = 0;
  std::string media_type;
  std::string ext;
  int64_t created_at = 0;
};

struct CacheEntry {
  std::string key;
  std::string file_id;
  std::string media_type;
  int64_t created_at = 0, expires_at = 0;
};

// A stored response to a POST with an Idempotency-Key, scoped to (account, API key, route): a
// retry with another key, or to another route, is a request of its own.
// An Idempotency-Key replays its first answer this long (s; SPEC 7).
inline constexpr int64_t kIdempotencyTtl = 86400;

struct IdempotencyRecord {
  int64_t user_id = 0;
  int64_t api_key_id = 0;  // 0: an access token or the dashboard's session
  std::string route;       // "POST /api/keys": the route's pattern, not the path
  std::string key, body_hash;
  bool done = false;  // false while the first request is still being answered
  int status = 0;
  std::string response;   // JSON body; never one that showed a secret (then "" and withheld)
  bool withheld = false;  // the first response showed a secret (a new API key), which is not kept
  int64_t created_at = 0;
};

struct ProviderKeyRecord {
  int64_t user_id = 0;
  std::string provider;
  std::string sealed;  // hex of the AEAD box; the plaintext is never stored
  std::string suffix;  // last 4 characters, for display
  int64_t created_at = 0;
};

// A Cloud Render job (SPEC 10). Status: rendering | completed | failed. `files` is the JSON array
// of generated files; error_category: invalid_source | provider_error | quota_exceeded |
// rate_limited | timeout | internal.
struct RenderJobRecord {
  std::string id;  // "render_..."
  int64_t user_id = 0;
  std::string status = "rendering";
  std::string mode, output;  // strict | preview; video | frames
  std::string output_url, thumbnail_url;
  std::string files = "[]";
  std::string error, error_category;
  int64_t duration_ms = 0;
  int64_t created_at = 0;
  std::optional<int64_t> started_at, completed_at;
};

// OAuth 2.1 for MCP clients (docs/mcp.md): registered clients, authorization codes and token
// pairs. Codes and tokens are kept only as peppered hashes. A pair's refresh token rotates: each
// refresh replaces the pair by a new one of the same family, and a refresh token used a second
// time (replayed: it was stolen) revokes its whole family.
struct OAuthClient {
  std::string id, name;
  std::string redirect_uris;  // JSON array of exact URIs
  int64_t created_at = 0;
};
struct OAuthCode {
  std::string hash, client_id;
  int64_t user_id = 0;
  std::string redirect_uri, challenge, scope;  // challenge: the PKCE S256 code_challenge
  int64_t expires_at = 0;
};
struct OAuthToken {
  std::string id, family, client_id;
  int64_t user_id = 0;
  std::string scope, access_hash, refresh_hash;
  int64_t access_expires_at = 0, refresh_expires_at = 0, created_at = 0;
  int64_t revoked_at = 0;  // 0: live; else when it was rotated or revoked
};

class Store {
 public:
  virtual ~Store() = default;

  // Users. create_user is a conflict when the email exists.
  virtual Result<User> create_user(const std::string& email, int64_t now) = 0;
  virtual Result<User> user_by_email(const std::string& email) = 0;
  virtual Result<User> user_by_id(int64_t id) = 0;
  virtual Result<std::vector<User>> list_users() = 0;

  // API keys. Listings and key_of leave out revoked keys.
  virtual Result<ApiKeyRecord> insert_key(const ApiKeyRecord& key) = 0;
  virtual Result<ApiKeyRecord> key_by_hash(const std::string& hash) = 0;
  virtual Result<std::vector<ApiKeyRecord>> keys_of(int64_t user_id) = 0;
  virtual Result<ApiKeyRecord> key_of(int64_t user_id, int64_t key_id) = 0;
  // Revokes a live key; user_id 0 means any user (operator). not_found if no such live key.
  virtual Status revoke_key(int64_t key_id, int64_t user_id, int64_t now) = 0;
  // Revokes old_key_id and inserts its replacement in one transaction.
  virtual Result<ApiKeyRecord> rotate_key(int64_t old_key_id, const ApiKeyRecord& fresh, int64_t now) = 0;
  virtual Status touch_key(int64_t key_id, int64_t now) = 0;
  // Key ids revoked at or after `since` (for cross-instance cache invalidation).
  virtual Result<std::vector<int64_t>> revoked_since(int64_t since) = 0;

  // Sessions (dashboard and CLI access tokens).
  virtual Status insert_session(const SessionRecord& s) = 0;
  virtual Result<SessionRecord> session_by_hash(const std::string& hash) = 0;
  virtual Status delete_session(const std::string& hash) = 0;

  // Ledger. append is idempotent on idempotency_id: a repeat returns the first entry (conflict if
  // it differs). reserve fails with insufficient_balance when available < amount, atomically;
  // capture/release settle the reserve named in `ref` exactly once.
  virtual Result<LedgerEntry> append(const LedgerEntry& entry) = 0;
  virtual Result<Balance> balance(int64_t user_id) = 0;
  // The balance recomputed from the ledger lines alone (the projection must always equal it).
  virtual Result<Balance> ledger_sum(int64_t user_id) = 0;
  virtual Result<std::vector<LedgerEntry>> entries(int64_t user_id, int limit) = 0;

  // One-time login codes, stored as hashes: up to kLiveOtpCodes live codes per email, so that a
  // new code (someone else may have asked for it) never invalidates the one already sent.
  virtual Status put_otp(const std::string& email, const std::string& code_hash, int64_t expires_at, int64_t now) = 0;
  // Accepted when one of the email's unexpired codes with attempts left matches (then all of its
  // codes are spent); otherwise a wrong attempt counts against each of its live codes.
  virtual Result<OtpCheck> check_otp(const std::string& email, const std::string& code_hash, int max_attempts,
                                     int64_t now) = 0;
  virtual Status record_otp_send(const std::string& email, const std::string& ip, int64_t now) = 0;
  // Sends at or after `since`: to this email (from anywhere), from this ip (to anyone), and to
  // this email from this ip; each with the times of its oldest and newest send (0 when none).
  struct SendWindow {
    int64_t count = 0, oldest = 0, newest = 0;
  };
  struct SendCounts {
    SendWindow email, ip, email_ip;
  };
  virtual Result<SendCounts> otp_sends_since(const std::string& email, const std::string& ip, int64_t since) = 0;

  // Jobs.
  virtual Status insert_job(const JobRecord& job) = 0;
  // Finished jobs (cache hits' usage records) in one transaction; a row already stored is left as
  // it is, so a batch whose commit outcome was unknown can be written again.
  virtual Status insert_jobs(const std::vector<JobRecord>& jobs) = 0;
  virtual Result<JobRecord> job(const std::string& id) = 0;

  // Admission, in one transaction or not at all. With `lookup_cache`, a cached result completes
  // the job at once (cost 0, no hold). With `join_flight`, an identical live job (same cache key)
  // makes this one its follower: it waits for that result and pays nothing. Otherwise the
  // account's count of live jobs is raised unless it reached `max_active` (0: no cap; else
  // rate_limited), the hold is reserved (insufficient_balance) and the job inserted. Returns the
  // job as written. A crash leaves nothing, or a live job whose hold the job or recovery settles.
  struct Admission {
    JobRecord job;
    std::optional<LedgerEntry> hold;
    int max_active = 0;
    bool lookup_cache = false, join_flight = false;
    int64_t now = 0;
    // Not ok: the job cannot run (e.g. no provider key); admitted only as a cache hit or a
    // follower, else this.
    Status unless_hit;
    // The request's Idempotency-Key, in the same transaction: a record in its scope newer than
    // `idempotency_since` replays that job (another body: conflict); else it is written with the
    // job. `response` holds the job id.
    std::optional<IdempotencyRecord> idempotency;
    int64_t idempotency_since = 0;
    std::optional<WebhookDelivery> webhook;  // written with the job (its job_id set from it)
  };
  struct Admitted {
    JobRecord job;
    bool replayed = false;  // an Idempotency-Key retry: `job` is the first request's
  };
  virtual Result<Admitted> admit_job(const Admission& a) = 0;

  // A job admitted before its cache key was known (its inputs named by URL are fetched by the job
  // itself) gets it now: with its new params and cache key, the same choice as at admission — a
  // cached result or an identical live job to follow (then `release` settles its hold: it pays
  // nothing), or it runs. nullopt when the stored status is no longer `from` (cancelled meanwhile).
  struct Resolution {
    JobRecord job;
    JobStatus from = JobStatus::queued;
    bool lookup_cache = false, join_flight = false;
    int64_t now = 0;
    std::optional<LedgerEntry> release;
  };
  virtual Result<std::optional<JobRecord>> resolve_job(const Resolution& r) = 0;

  // One move of the state machine, in one transaction: `job` (every mutable field but the lease)
  // is written only if the stored status is still `from` (false otherwise: another writer, e.g. a
  // cancel racing a completion, moved it first), with its ledger entry (the capture or release
  // that settles it, or a new hold) and, for a completion, its cache entry. A leader that stops
  // being live resolves its live followers with it: completed with its result, or failed.
  struct Transition {
    JobRecord job;
    JobStatus from = JobStatus::queued;
    std::optional<LedgerEntry> entry;
    std::optional<CacheEntry> publish;
    std::optional<FileRecord> file{};  // the result's record, written with the move (kept if stored already)
  };
  struct Moved {
    bool applied = false;
    std::vector<std::string> followers;  // resolved with it
  };
  virtual Result<Moved> transition_job(const Transition& t) = 0;
  // Jobs moved by any instance since the last call (every transition_job announces its job and
  // the followers it resolved), waiting up to timeout_ms for one. PostgreSQL delivers them by
  // LISTEN/NOTIFY; a store only one process uses returns none (that process knows already).
  virtual std::vector<std::string> job_changes(int timeout_ms) = 0;
  virtual Result<std::vector<JobRecord>> unfinished_jobs() = 0;
  // How many of the user's jobs are queued or processing (a counter the job rules keep).
  virtual Result<int64_t> active_jobs(int64_t user_id) = 0;
  // Recovery: the open reservations made before `before` whose job is not queued or processing
  // (or does not exist), for the ledger to release.
  struct Hold {
    std::string reservation;
    int64_t user_id = 0;
    std::string job_id;
    int64_t amount = 0, created_at = 0;
  };
  virtual Result<std::vector<Hold>> orphan_holds(int64_t before) = 0;

  // `vargd admin verify`: what must always hold, checked over the whole database. Each problem is
  // a sentence naming the account or job: a balance that is not the sum of its ledger, reserved
  // credits that are not the sum of the account's holds, an active-job count that is not its live
  // jobs, a hold without a live job; on SQLite, the file's own integrity check.
  struct Audit {
    std::vector<std::string> problems;
    int64_t accounts = 0, entries = 0, jobs = 0, holds = 0;
    std::vector<std::string> file_hashes;  // every file record's content hash, for the blob check
  };
  virtual Result<Audit> audit() = 0;
  // Prometheus text about the database: commit latency, connections, queued writes.
  virtual std::string metrics() = 0;
  // A consistent copy of the whole database written to `path` while other connections and
  // processes go on using it (SQLite's online backup API). PostgreSQL: invalid — pg_dump and
  // pg_basebackup do that (docs/operations.md).
  virtual Status backup(const std::string& path) = 0;
  // Job leases, so that each job runs on one instance of several (times in ms): claim_job gives
  // the unfinished job to `owner` until `until` if its lease ended before `now` or is owner's
  // already (false otherwise); renew_leases extends every unfinished job `owner` holds to `until`.
  virtual Result<bool> claim_job(const std::string& id, const std::string& owner, int64_t until, int64_t now) = 0;
  virtual Status renew_leases(const std::string& owner, int64_t until) = 0;
  // A stopping instance hands its unfinished jobs over: their leases run out now.
  virtual Status release_leases(const std::string& owner) = 0;
  // The user's jobs created in [from, to), newest first, optionally for one model.
  virtual Result<std::vector<JobRecord>> jobs_of(int64_t user_id, int64_t from, int64_t to, const std::string& model,
                                                int limit) = 0;
  // One page of the user's jobs, newest first (by created_at, then id, both descending), after the
  // last row of the previous page when `after_id` is set; capability and status filter when set.
  struct JobPage {
    int64_t user_id = 0;
    std::string capability, status;
    int64_t after_created = 0;
    std::string after_id;
    int limit = 20;
  };
  virtual Result<std::vector<JobRecord>> jobs_page(const JobPage& q) = 0;

  // Files, content-addressed: inserting known content returns the existing record and sets *existed.
  virtual Result<FileRecord> insert_file(const FileRecord& f, bool* existed) = 0;
  virtual Result<FileRecord> file(const std::string& id) = 0;
  // Uploads (POST /v1/files): which account uploaded which file. A file is shared by content; each
  // account that uploaded it sees it, from its first upload. Pages newest first, after the cursor.
  virtual Status record_upload(int64_t user_id, const std::string& file_id, int64_t now_ms) = 0;
  struct Upload {
    FileRecord file;
    int64_t uploaded_at = 0;
  };
  struct UploadPage {
    int64_t user_id = 0;
    int64_t after_at = 0;
    std::string after_id;
    int limit = 20;
  };
  virtual Result<std::vector<Upload>> uploads_page(const UploadPage& q) = 0;

  // OAuth (see OAuthToken). take_oauth_code returns a code once: it is deleted as it is read, and
  // not_found when unknown or expired. rotate_oauth_token: not_found when the refresh token is
  // unknown or expired, and when it was used before (then its family is revoked first).
  virtual Status insert_oauth_client(const OAuthClient& c) = 0;
  virtual Result<OAuthClient> oauth_client(const std::string& id) = 0;
  virtual Status insert_oauth_code(const OAuthCode& c) = 0;
  virtual Result<OAuthCode> take_oauth_code(const std::string& hash, int64_t now) = 0;
  virtual Status insert_oauth_token(const OAuthToken& t) = 0;
  virtual Result<OAuthToken> oauth_token_by_access(const std::string& hash) = 0;
  virtual Result<OAuthToken> oauth_token_by_refresh(const std::string& hash) = 0;
  virtual Result<OAuthToken> rotate_oauth_token(const std::string& refresh_hash, OAuthToken next, int64_t now) = 0;
  // Revokes a family (every pair of one grant); false when the account has no such live family.
  virtual Result<bool> revoke_oauth_family(int64_t user_id, const std::string& family, int64_t now) = 0;
  virtual Result<std::vector<OAuthToken>> oauth_tokens_of(int64_t user_id, int64_t now) = 0;  // live pairs

  // The result cache.
  virtual Result<std::optional<CacheEntry>> cache_get(const std::string& key, int64_t now) = 0;
  virtual Status cache_put(const CacheEntry& e) = 0;

  // Idempotency keys: claim inserts a pending record unless a live one exists in its scope (done
  // and newer than `since`, or pending and newer than `pending_since`: an older pending record is
  // a claim whose process died), in which case that one is returned with *claimed = false.
  virtual Result<IdempotencyRecord> idempotency_claim(const IdempotencyRecord& r, int64_t since, int64_t pending_since,
                                                      bool* claimed) = 0;
  virtual Status idempotency_finish(const IdempotencyRecord& r) = 0;
  // Deletes the pending claim of r's scope and key (nothing was done: a retry may try again).
  virtual Status idempotency_abandon(const IdempotencyRecord& r) = 0;

  // The per-account rate limit, for stores several instances share: takes up to `want` request
  // slots of the account at `now_ms`, as many as fit under `per_minute` over a sliding minute (the
  // previous minute counted in proportion to what the window still covers), and counts them in
  // the current minute. Returns how many it took (0: the budget is spent).
  virtual Result<int> take_requests(int64_t user_id, int64_t now_ms, int per_minute, int want) = 0;

  // Saved provider keys (BYOK), sealed.
  virtual Status put_provider_key(const ProviderKeyRecord& k) = 0;
  virtual Result<std::vector<ProviderKeyRecord>> provider_keys(int64_t user_id) = 0;
  virtual Status delete_provider_key(int64_t user_id, const std::string& provider) = 0;

  // Webhooks. due_webhooks: pending deliveries whose next attempt is due and whose job is
  // terminal, soonest first. claim_webhook takes one attempt (attempts + 1, the next attempt moved
  // to `next_ms`) if its next attempt is still `seen_next_ms` — one instance sends it; false if
  // another took it. record_webhook writes an attempt's outcome (status, last_*, next, delivered_at).
  virtual Result<std::vector<WebhookDelivery>> due_webhooks(int64_t now_ms, int limit) = 0;
  virtual Result<bool> claim_webhook(const std::string& id, int64_t seen_next_ms, int64_t next_ms) = 0;
  virtual Status record_webhook(const WebhookDelivery& d) = 0;
  virtual Result<std::vector<WebhookDelivery>> webhooks_of(int64_t user_id, int limit) = 0;  // newest first
  // The account's webhook signing secret, sealed. put with replace=false keeps one already there
  // (the first of two racing instances wins); the answer is the secret now stored.
  virtual Result<std::string> put_webhook_secret(int64_t user_id, const std::string& sealed, bool replace, int64_t now) = 0;
  virtual Result<std::optional<std::string>> webhook_secret(int64_t user_id) = 0;

  // Cloud Render jobs. update_render_job writes every mutable field only if the stored status is
  // `expected_status`; render_jobs_of lists newest first.
  // render_job answers not_found for an unknown id; unfinished_render_jobs lists those 'rendering'.
  virtual Status insert_render_job(const RenderJobRecord& job) = 0;
  virtual Result<bool> update_render_job(const RenderJobRecord& job, const std::string& expected_status) = 0;
  virtual Result<RenderJobRecord> render_job(const std::string& id) = 0;
  virtual Result<std::vector<RenderJobRecord>> render_jobs_of(int64_t user_id, int limit) = 0;
  virtual Result<std::vector<RenderJobRecord>> unfinished_render_jobs() = 0;
};

}  // namespace varg
