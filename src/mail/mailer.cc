#include "mail/mailer.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/crypto.h"

namespace varg {

namespace {

std::string address_of(const std::string& from) {  // "Name <a@b>" → "<a@b>"
  auto lt = from.find('<');
  return lt == std::string::npos ? "<" + from + ">" : from.substr(lt);
}

std::string domain_of(const std::string& from) {
  std::string a = address_of(from);
  auto at = a.find('@');
  return at == std::string::npos ? "localhost" : a.substr(at + 1, a.size() - at - 2);
}

}  // namespace

std::string render_message(const std::string& from, const MailMessage& m) {
  char date[64];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  std::string out = "From: " + from + "\r\nTo: " + m.to + "\r\nSubject: " + m.subject + "\r\nDate: " + date +
                    "\r\nMessage-ID: <" + random_base62(24) + "@" + domain_of(from) +
                    ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
  for (size_t i = 0; i < m.body.size(); i++) {  // normalize bare LF to CRLF
    if (m.body[i] == '\n' && (i == 0 || m.body[i - 1] != '\r')) out += '\r';
    out += m.body[i];
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

Status OutboxMailer::send(const MailMessage& m) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  const std::string name = std::to_string(std::time(nullptr)) + "-" + random_base62(12) + ".eml";
  const std::string path = dir_ + "/" + name;
  Status st = write_file_atomically(path, render_message(from_, m), 0600);
  if (st.code == Code::internal) return error(Code::provider_error, "Could not write the email to the outbox");
  if (!st.ok()) return st;  // a full disk: 507 with Retry-After
  spdlog::info(nlohmann::json{{"msg", "mail written to outbox"}, {"path", path}}.dump());
  return Status::Ok();
}

namespace {
struct Upload {
  const std::string* text;
  size_t pos = 0;
};
size_t read_cb(char* buf, size_t size, size_t n, void* userp) {
  auto* u = static_cast<Upload*>(userp);
  size_t len = std::min(size * n, u->text->size() - u->pos);
  std::memcpy(buf, u->text->data() + u->pos, len);
  u->pos += len;
  return len;
}
}  // namespace

Status SmtpMailer::send(const MailMessage& m) {
  CURL* curl = curl_easy_init();
  if (!curl) return error(Code::provider_error, "Could not send the email");
  const std::string text = render_message(o_.from, m);
  Upload up{&text};
  const std::string from = address_of(o_.from), to = "<" + m.to + ">";
  curl_slist* rcpt = curl_slist_append(nullptr, to.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, o_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(curl, CURLOPT_READDATA, &up);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, o_.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, o_.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USE_SSL, o_.tls == "required" ? CURLUSESSL_ALL : o_.tls == "none" ? CURLUSESSL_NONE : CURLUSESSL_TRY);
  if (!o_.user.empty()) curl_easy_setopt(curl, CURLOPT_USERNAME, o_.user.c_str());
  if (!o_.password.empty()) curl_easy_setopt(curl, CURLOPT_PASSWORD, o_.password.c_str());
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    // Logged without the recipient's message or credentials.
    spdlog::error(nlohmann::json{{"msg", "smtp delivery failed"}, {"error", curl_easy_strerror(rc)}}.dump());
    return error(Code::provider_error, "Could not send the email; try again later");
  }
  spdlog::info(nlohmann::json{{"msg", "mail sent by smtp"}}.dump());
  return Status::Ok();
}

std::unique_ptr<Mailer> make_mailer(const std::string& setting, const std::string& outbox_dir, SmtpMailer::Options smtp) {
  if (setting.starts_with("smtp://") || setting.starts_with("smtps://")) {
    smtp.url = setting;
    return std::make_unique<SmtpMailer>(std::move(smtp));
  }
  return std::make_unique<OutboxMailer>(outbox_dir, smtp.from);
}

}  // namespace varg
