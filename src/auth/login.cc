#include "auth/login.h"

#include <algorithm>
#include <cctype>

#include "billing/ledger.h"
#include "common/crypto.h"

namespace varg {

std::string normalize_email(const std::string& raw) {
  size_t a = raw.find_first_not_of(" \t"), b = raw.find_last_not_of(" \t");
  if (a == std::string::npos) return {};
  std::string e = raw.substr(a, b - a + 1);
  for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto at = e.find('@');
  if (e.size() > 254 || at == std::string::npos || at == 0 || e.find('@', at + 1) != std::string::npos) return {};
  std::string domain = e.substr(at + 1);
  auto dot = domain.find('.');
  if (dot == std::string::npos || dot == 0 || domain.back() == '.' || domain.find("..") != std::string::npos) return {};
  for (char c : e)
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)) || c == '<' ||
        c == '>' || c == ',' || c == ';' || c == '"' || c == '\\')
      return {};
  return e;
}

std::string Login::code_hash(const std::string& email, const std::string& code) const {
  return hasher_.hash("otp:" + email + ":" + code);
}

Status Login::send_code(const std::string& raw_email, const std::string& ip) {
  const std::string email = normalize_email(raw_email);
  if (email.empty()) return error(Code::invalid, "A valid email address is required", "email");
  const int64_t now = clock_.now();
  auto counts = store_.otp_sends_since(email, ip, now - 3600);
  if (!counts.ok()) return counts.status();
  auto limited = [&](const char* message, int64_t free_at) {
    Status s = error(Code::rate_limited, message);
    s.retry_after = int(std::max<int64_t>(1, free_at - now));  // when a send will be accepted again
    return s;
  };
  if (counts->email_ip.newest && now - counts->email_ip.newest < limits_.resend_after)
    return limited("A code was sent to this address moments ago; wait before asking for another",
                   counts->email_ip.newest + limits_.resend_after);
  if (counts->email_ip.count >= limits_.per_email_client_hour)
    return limited("Too many login codes requested for this address; try again later", counts->email_ip.oldest + 3600);
  if (counts->ip.count >= limits_.per_ip_hour)
    return limited("Too many login codes requested from this address; try again later", counts->ip.oldest + 3600);
  if (counts->email.count >= limits_.per_email_hour)
    return limited("Too many login codes requested for this address; try again later", counts->email.oldest + 3600);
  VARG_TRY(store_.record_otp_send(email, ip, now));
  const std::string code = random_digits(6);
  VARG_TRY(store_.put_otp(email, code_hash(email, code), now + limits_.code_ttl, now));
  MailMessage m;
  m.to = email;
  m.subject = "Your varg login code";
  m.body = "Your varg login code is " + code + "\n\nIt expires in " + std::to_string(limits_.code_ttl / 60) +
           " minutes (at " + iso8601(now + limits_.code_ttl) + ") and works once.\n"
           "If you did not ask for it, ignore this message.\n";
  return mailer_.send(m);
}

Result<Login::Verified> Login::verify(const std::string& raw_email, const std::string& code, bool want_key,
                                      const std::string& key_name) {
  const std::string email = normalize_email(raw_email);
  if (email.empty()) return error(Code::invalid, "A valid email address is required", "email");
  Status wrong = error(Code::unauthorized, "Invalid or expired code");
  if (code.size() != 6 || code.find_first_not_of("0123456789") != std::string::npos) {
    // Still counts against the code, so malformed guesses cannot probe for free.
    auto r = store_.check_otp(email, code_hash(email, "x"), limits_.max_attempts, clock_.now());
    if (!r.ok()) return r.status();
    return wrong;
  }
  const int64_t now = clock_.now();
  auto check = store_.check_otp(email, code_hash(email, code), limits_.max_attempts, now);
  if (!check.ok()) return check.status();
  if (check->outcome != OtpCheck::accepted) return wrong;

  Verified v;
  auto user = store_.user_by_email(email);
  if (!user.ok() && user.status().code == Code::not_found) {
    user = store_.create_user(email, now);
    if (!user.ok() && user.status().code == Code::conflict) user = store_.user_by_email(email);  // a concurrent first login
    else if (user.ok()) v.created = true;
    if (user.ok() && v.created && limits_.welcome_credits > 0) {
      auto g = billing::Ledger(store_, clock_).welcome(user->id, limits_.welcome_credits);
      if (!g.ok()) return g.status();
    }
  }
  if (!user.ok()) return user.status();
  v.user = *user;
  if (want_key) {
    auto k = issue_key(store_, hasher_, KeyRequest{user->id, key_name, std::nullopt, std::nullopt}, now);
    if (!k.ok()) return k.status();
    v.key = std::move(*k);
  }
  v.access_token = AccessToken::generate();
  VARG_TRY(store_.insert_session({hasher_.hash(v.access_token), user->id, now, now + limits_.session_ttl}));
  auto b = store_.balance(user->id);
  if (!b.ok()) return b.status();
  v.balance_cents = b->available();
  return v;
}

Status Login::end_session(const std::string& token) {
  if (!AccessToken::well_formed(token)) return error(Code::unauthorized, "Not signed in");
  return store_.delete_session(hasher_.hash(token));
}

}  // namespace varg
