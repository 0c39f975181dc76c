// vargd settings: each one a flag (--name), an environment variable (VARGD_NAME) and a config-file
// entry (name = value). Precedence: flag > env > file > default. Invalid values stop start-up with
// a message naming the setting.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace varg {

struct Config {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  std::string data_dir = "./data";
  std::string database;  // empty: <data_dir>/varg.db
  std::string public_url;  // empty: http://<listen>
  std::string files_url;   // empty: <public_url>/files
  std::string secret;      // hex; empty: read or create <data_dir>/server.secret
  size_t json_body_limit = 1 << 20;
  size_t upload_body_limit = 50u << 20;
  size_t header_limit = 16 * 1024;
  int64_t read_timeout_ms = 30000, idle_timeout_ms = 60000, write_timeout_ms = 30000, shutdown_grace_ms = 10000;
  int64_t min_transfer_rate = 1024, max_connections = 10000, max_connections_per_ip = 512;
  int64_t max_body_bytes = 1LL << 30, max_body_bytes_per_ip = 256LL << 20;
  int threads = 0, workers = 8;
  std::string log_level = "info";
  int64_t welcome_credits = 0;
  std::string mail = "outbox";  // or smtp://... / smtps://...
  std::string mail_from = "varg <no-reply@varg.local>";
  std::string smtp_user, smtp_password;
  int64_t smtp_timeout_ms = 10000;
  std::string smtp_tls = "required";
  int otp_per_email_hour = 10, otp_email_ceiling_hour = 50, otp_per_ip_hour = 30;
  std::string catalog;  // JSON file replacing the built-in model catalog
  int job_workers = 8;
  int64_t cache_ttl = 30 * 86400;
  std::string cache_scope = "global";
  int allow_private_urls = 0, allow_private_provider_urls = 0;
  // By provider name (gen/providers/remote.h): pooled (metered) keys and API base URLs.
  std::map<std::string, std::string> provider_keys, provider_urls;
  int rate_limit_rpm = 600;
  int max_active_jobs = 20;
  int job_lease_ms = 10000;
  int job_drain_ms = 10000;
  int breaker_failures = 5;
  int breaker_open_ms = 30000;
  int max_queued_jobs = 10000;
  int trust_forwarded_for = 0;
  int render_workers = 2;
  std::string render_sandbox = "strict";
  int64_t media_timeout = 300, media_memory_mb = 2048, media_output_mb = 512;
  std::vector<int64_t> webhook_retries = {5, 300, 1800, 7200, 18000, 36000};
  int64_t webhook_timeout_ms = 10000;
  std::string ca_file;
  int64_t provider_timeout_ms = 60000, provider_poll_ms = 1000;
  std::string stripe_url = "https://api.stripe.com", stripe_secret_key, stripe_webhook_secret;

  std::string database_path() const;  // resolved SQLite path
};

struct ParsedArgs {
  Config config;
  std::vector<std::string> positional;         // e.g. {"admin", "create-user"}
  std::map<std::string, std::string> extra;    // flags that are not settings (admin options)
  bool help = false;
};

// argv without the program name; env as NAME → value. Unknown flags are errors unless allow_extra.
Result<ParsedArgs> parse_args(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                              bool allow_extra);
std::string settings_help();
std::map<std::string, std::string> process_env();

}  // namespace varg
