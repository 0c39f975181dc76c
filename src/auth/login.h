// Login by emailed one-time code (SPEC 3): 6 CSPRNG digits, stored hashed, valid 10 minutes,
// single use, 5 wrong attempts per code, send limits per email and per client IP. Success creates
// the account on first login, a new API key and a 24 h session token.
#pragma once
#include <string>

#include "auth/keys.h"
#include "common/clock.h"
#include "mail/mailer.h"
#include "store/store.h"

namespace varg {

class Login {
 public:
  struct Limits {
    int64_t code_ttl = 600;
    int max_attempts = 5;
    // Budgets are per email address *and* client, so that nobody can spend someone else's:
    int64_t resend_after = 30;  // seconds between two sends to one email from one client
    int per_email_client_hour = 10;
    int per_email_hour = 50;    // the ceiling over all clients (it never touches a code already sent)
    int per_ip_hour = 30;
    int64_t session_ttl = 86400;
    int64_t welcome_credits = 0;
  };
  Login(Store& store, Mailer& mailer, const SecretHasher& hasher, const Clock& clock, Limits limits)
      : store_(store), mailer_(mailer), hasher_(hasher), clock_(clock), limits_(limits) {}

  // The same success whether or not an account exists for the email.
  Status send_code(const std::string& email, const std::string& client_ip);

  struct Verified {
    User user;
    std::optional<IssuedKey> key;  // issued unless the caller asked for a session only
    std::string access_token;
    int64_t balance_cents = 0;
    bool created = false;  // the account was created by this login
  };
  // A wrong, expired or used-up code is 401. `issue_key`: create an API key named `key_name`.
  Result<Verified> verify(const std::string& email, const std::string& code, bool issue_key, const std::string& key_name);

  // Ends a session (logout).
  Status end_session(const std::string& access_token);

 private:
  std::string code_hash(const std::string& email, const std::string& code) const;

  Store& store_;
  Mailer& mailer_;
  const SecretHasher& hasher_;
  const Clock& clock_;
  Limits limits_;
};

// Trimmed, lower-cased address with one '@' and a dotted domain; empty when invalid.
std::string normalize_email(const std::string& raw);

}  // namespace varg
