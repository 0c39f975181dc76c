// Outgoing mail behind one interface: the embedded default writes .eml files to an outbox
// directory; SmtpMailer delivers through an SMTP server (libcurl; STARTTLS or implicit TLS).
#pragma once
#include <memory>
#include <string>

#include "common/status.h"

namespace varg {

struct MailMessage {
  std::string to;
  std::string subject;
  std::string body;  // plain text
};

class Mailer {
 public:
  virtual ~Mailer() = default;
  // A delivery failure is Code::provider_error with a message safe to show (never the body).
  virtual Status send(const MailMessage& m) = 0;
};

// RFC 5322 text of a message (headers and body, CRLF line ends).
std::string render_message(const std::string& from, const MailMessage& m);

class OutboxMailer final : public Mailer {
 public:
  OutboxMailer(std::string dir, std::string from) : dir_(std::move(dir)), from_(std::move(from)) {}
  Status send(const MailMessage& m) override;

 private:
  std::string dir_, from_;
};

class SmtpMailer final : public Mailer {
 public:
  struct Options {
    std::string url;  // smtp://[user:pass@]host[:port] (STARTTLS when offered) or smtps://host[:port]
    std::string user, password;
    std::string from;
    std::string tls = "required";  // smtp://: required (STARTTLS or no mail), opportunistic, none
    long timeout_ms = 10000;
  };
  explicit SmtpMailer(Options o) : o_(std::move(o)) {}
  Status send(const MailMessage& m) override;

 private:
  Options o_;
};

// From the --mail setting: "outbox" or an smtp(s):// URL.
std::unique_ptr<Mailer> make_mailer(const std::string& setting, const std::string& outbox_dir, SmtpMailer::Options smtp);

}  // namespace varg
