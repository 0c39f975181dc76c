// The Store: every durable fact of varg behind one interface, implemented by SQLite (embedded
// default) and later PostgreSQL. Calls are synchronous and may block on I/O: the server runs them
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

  // One-time login codes: one live code per email, stored as a hash.
  virtual Status put_otp(const std::string& email, const std::string& code_hash, int64_t expires_at, int64_t now) = 0;
  // Consumes the code if it matches, is unexpired and has attempts left; otherwise counts a wrong attempt.
  virtual Result<OtpCheck> check_otp(const std::string& email, const std::string& code_hash, int max_attempts,
                                     int64_t now) = 0;
  virtual Status record_otp_send(const std::string& email, const std::string& ip, int64_t now) = 0;
  // Sends since `since` for this email and this ip, and the newest send time for this email.
  struct SendCounts {
    int64_t by_email = 0, by_ip = 0, last_for_email = 0;
  };
  virtual Result<SendCounts> otp_sends_since(const std::string& email, const std::string& ip, int64_t since) = 0;
};

}  // namespace varg
