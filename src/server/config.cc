#include "server/config.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>

#include "gen/providers/remote.h"

extern char** environ;

namespace varg {

namespace {

struct Setting {
  std::string name;
  std::string def;
  std::string help;
  std::function<Status(Config&, const std::string&)> apply;
};

Status bad(const std::string& name, const std::string& why) {
  return error(Code::invalid, "invalid setting --" + name + ": " + why, name);
}

template <class T>
std::function<Status(Config&, const std::string&)> integer(const char* name, T Config::*field, int64_t lo, int64_t hi) {
  return [=](Config& c, const std::string& v) -> Status {
    try {
      size_t used = 0;
      long long n = std::stoll(v, &used);
      if (used != v.size() || n < lo || n > hi)
        return bad(name, "'" + v + "' is not an integer between " + std::to_string(lo) + " and " + std::to_string(hi));
      c.*field = static_cast<T>(n);
      return Status::Ok();
    } catch (...) {
      return bad(name, "'" + v + "' is not an integer");
    }
  };
}

std::function<Status(Config&, const std::string&)> text(std::string Config::*field) {
  return [=](Config& c, const std::string& v) { c.*field = v; return Status::Ok(); };
}

// One of a few words; the error lists them ("must be a, b or c, got 'x'").
std::function<Status(Config&, const std::string&)> one_of(const char* name, std::string Config::*field,
                                                          std::vector<std::string> allowed) {
  return [=](Config& c, const std::string& v) -> Status {
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string list;
      for (size_t i = 0; i < allowed.size(); i++) list += (i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ") + allowed[i];
      return bad(name, "must be " + list + ", got '" + v + "'");
    }
    c.*field = v;
    return Status::Ok();
  };
}

// An absolute http(s) base URL (or empty), kept without its trailing slashes.
std::function<Status(Config&, const std::string&)> base_url(const char* name, std::string Config::*field) {
  return [=](Config& c, const std::string& v) -> Status {
    if (!v.empty() && !v.starts_with("http://") && !v.starts_with("https://"))
      return bad(name, "must start with http:// or https://");
    c.*field = v;
    while (!(c.*field).empty() && (c.*field).back() == '/') (c.*field).pop_back();
    return Status::Ok();
  };
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> s = [] {
    std::vector<Setting> v = {
      {"listen", "127.0.0.1:8080", "address and port to serve on (port 0 picks a free one)",
       [](Config& c, const std::string& v) -> Status {
         auto colon = v.rfind(':');
         if (colon == std::string::npos || colon == 0) return bad("listen", "expected HOST:PORT, got '" + v + "'");
         c.listen_host = v.substr(0, colon);
         if (c.listen_host.front() == '[' && c.listen_host.back() == ']') c.listen_host = c.listen_host.substr(1, c.listen_host.size() - 2);
         std::string port = v.substr(colon + 1);
         if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535)
           return bad("listen", "port must be 0-65535, got '" + port + "'");
         c.listen_port = static_cast<uint16_t>(std::stoi(port));
         return Status::Ok();
       }},
      {"data-dir", "./data", "directory for the SQLite file, blobs, outbox and server secret", text(&Config::data_dir)},
      {"database", "", "database: a SQLite path (default <data-dir>/varg.db) or postgresql://user:pass@host:port/db",
       [](Config& c, const std::string& v) -> Status {
         if ((v.starts_with("postgres://") || v.starts_with("postgresql://")) && v.find("://") + 3 >= v.size())
           return bad("database", "a PostgreSQL URL needs a host or database, e.g. postgresql://varg@db/varg");
         c.database = v.starts_with("sqlite:") ? v.substr(7) : v;
         return Status::Ok();
       }},
      {"public-url", "", "absolute base URL used in every URL vargd hands out (default http://<listen>)",
       base_url("public-url", &Config::public_url)},
      {"files-url", "", "base URL of result and upload files: a URL on another origin than the dashboard that reaches this "
       "server's /files/, e.g. https://files.example.com/files (the production setting); default <public-url>/files",
       base_url("files-url", &Config::files_url)},
      {"secret", "", "server secret (64 hex chars) for key hashing and encryption; default: <data-dir>/server.secret",
       [](Config& c, const std::string& v) -> Status {
         if (!v.empty() && (v.size() != 64 || v.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos))
           return bad("secret", "must be 64 hex characters");
         c.secret = v;
         return Status::Ok();
       }},
      {"json-body-limit", "1048576", "largest JSON request body in bytes (413 above)",
       integer("json-body-limit", &Config::json_body_limit, 1024, 64LL << 20)},
      {"upload-body-limit", "52428800", "largest input file in bytes: an upload (413 above) or a file fetched by URL",
       integer("upload-body-limit", &Config::upload_body_limit, 1024, 4LL << 30)},
      {"header-limit", "16384", "largest request line plus headers in bytes (431 above)",
       integer("header-limit", &Config::header_limit, 1024, 1 << 20)},
      {"read-timeout-ms", "30000", "deadline for the request line and headers, and for each piece of a body",
       integer("read-timeout-ms", &Config::read_timeout_ms, 10, 3600000)},
      {"min-transfer-rate", "1024", "bytes/s a body upload or a response must average once it has lasted a timeout",
       integer("min-transfer-rate", &Config::min_transfer_rate, 0, 1LL << 30)},
      {"max-connections", "10000", "open client connections at most; more are closed at once",
       integer("max-connections", &Config::max_connections, 1, 10000000)},
      {"max-connections-per-ip", "512", "open connections one client address may hold; more get a 503",
       integer("max-connections-per-ip", &Config::max_connections_per_ip, 1, 10000000)},
      {"max-body-bytes-in-flight", "1073741824", "request body bytes being received at once (declared lengths); more get a 503",
       integer("max-body-bytes-in-flight", &Config::max_body_bytes, 1, 1LL << 40)},
      {"max-body-bytes-per-ip", "268435456", "request body bytes one client address may be sending at once; more get a 503",
       integer("max-body-bytes-per-ip", &Config::max_body_bytes_per_ip, 1, 1LL << 40)},
      {"idle-timeout-ms", "60000", "keep-alive wait for the next request", integer("idle-timeout-ms", &Config::idle_timeout_ms, 10, 3600000)},
      {"write-timeout-ms", "30000", "deadline for each piece of a response", integer("write-timeout-ms", &Config::write_timeout_ms, 10, 3600000)},
      {"shutdown-grace-ms", "10000", "how long in-flight requests may finish after SIGTERM",
       integer("shutdown-grace-ms", &Config::shutdown_grace_ms, 0, 600000)},
      {"threads", "0", "network threads (0: one per core)", integer("threads", &Config::threads, 0, 256)},
      {"workers", "8", "worker threads for handlers and store calls (and database connections)", integer("workers", &Config::workers, 1, 1024)},
      {"log-level", "info", "trace, debug, info, warn, error or off",
       [](Config& c, const std::string& v) -> Status {
         for (const char* ok : {"trace", "debug", "info", "warn", "error", "off"})
           if (v == ok) {
             c.log_level = v;
             return Status::Ok();
           }
         return bad("log-level", "'" + v + "' is not one of trace, debug, info, warn, error, off");
       }},
      {"welcome-credits", "0", "credits granted to an account created by email login",
       integer("welcome-credits", &Config::welcome_credits, 0, 1000000000)},
      {"mail", "outbox", "where login codes go: outbox (.eml files in <data-dir>/outbox) or smtp://[user:pass@]host:port (STARTTLS when offered) or smtps://host:port",
       [](Config& c, const std::string& v) -> Status {
         if (v != "outbox" && !v.starts_with("smtp://") && !v.starts_with("smtps://"))
           return bad("mail", "must be 'outbox' or an smtp:// or smtps:// URL");
         c.mail = v;
         return Status::Ok();
       }},
      {"mail-from", "varg <no-reply@varg.local>", "From address of login emails", text(&Config::mail_from)},
      {"smtp-user", "", "SMTP user name (or in the --mail URL)", text(&Config::smtp_user)},
      {"smtp-password", "", "SMTP password (or in the --mail URL)", text(&Config::smtp_password)},
      {"smtp-timeout-ms", "10000", "deadline for one SMTP delivery", integer("smtp-timeout-ms", &Config::smtp_timeout_ms, 100, 600000)},
      {"smtp-tls", "required", "smtp://: required (refuse to send unless the server takes STARTTLS: no downgrade to clear "
       "text), opportunistic (STARTTLS when offered) or none",
       one_of("smtp-tls", &Config::smtp_tls, {"required", "opportunistic", "none"})},
      {"otp-per-email-hour", "10", "login codes one email address may request per hour from one client IP",
       integer("otp-per-email-hour", &Config::otp_per_email_hour, 1, 100000)},
      {"otp-email-ceiling-hour", "50", "login codes one email address may request per hour from all clients together",
       integer("otp-email-ceiling-hour", &Config::otp_email_ceiling_hour, 1, 1000000)},
      {"otp-per-ip-hour", "30", "login codes one client IP may request per hour",
       integer("otp-per-ip-hour", &Config::otp_per_ip_hour, 1, 1000000)},
      {"catalog", "", "JSON file with the model catalog (default: the built-in one)", text(&Config::catalog)},
      {"job-workers", "8", "threads running generation jobs", integer("job-workers", &Config::job_workers, 1, 256)},
      {"cache-ttl", "2592000", "seconds a cached result is served (X-Cache-TTL)", integer("cache-ttl", &Config::cache_ttl, 1, 10LL * 365 * 86400)},
      {"cache-scope", "global", "global (one cache for everyone, as varg's hosted gateway) or account",
       one_of("cache-scope", &Config::cache_scope, {"global", "account"})},
      {"allow-private-urls", "0", "1: callers' input-file URLs may point at private or loopback addresses (tests only)",
       integer("allow-private-urls", &Config::allow_private_urls, 0, 1)},
      {"allow-private-provider-urls", "0", "1: the provider base URLs (--fal-url, ...) and the result URLs their answers "
       "name may be private or loopback addresses (providers on your own network; fakes in tests)",
       integer("allow-private-provider-urls", &Config::allow_private_provider_urls, 0, 1)},
      {"rate-limit-rpm", "600", "state-changing requests (POST, PUT, DELETE) per minute per account, all its keys and sessions together (0: unlimited); 429 with Retry-After above",
       integer("rate-limit-rpm", &Config::rate_limit_rpm, 0, 10000000)},
      {"job-drain-ms", "10000", "after SIGTERM, how long running generations may finish before the rest are left to resume "
       "(at the next start, or at once on another instance on a shared database)",
       integer("job-drain-ms", &Config::job_drain_ms, 0, 3600000)},
      {"breaker-failures", "5", "consecutive outages of a provider (5xx, timeouts, no connection) that open its circuit breaker (0: never)",
       integer("breaker-failures", &Config::breaker_failures, 0, 1000000)},
      {"breaker-open-ms", "30000", "how long an open breaker fails requests to its provider fast before one probe may pass",
       integer("breaker-open-ms", &Config::breaker_open_ms, 100, 86400000)},
      {"max-queued-jobs", "10000", "generations waiting for a job worker on this instance; more get a 503 with Retry-After",
       integer("max-queued-jobs", &Config::max_queued_jobs, 1, 100000000)},
      {"max-active-jobs", "20", "queued plus processing generations one account may have (0: no cap); 429 above",
       integer("max-active-jobs", &Config::max_active_jobs, 0, 100000)},
      {"job-lease-ms", "10000", "with PostgreSQL: how long a job stays with the instance running it without a renewal; "
                                "another instance takes over the jobs of one that died after this",
       integer("job-lease-ms", &Config::job_lease_ms, 1000, 3600000)},
      {"trust-forwarded-for", "0", "1: behind a load balancer, take the client address (for login-code limits) from the last X-Forwarded-For hop",
       integer("trust-forwarded-for", &Config::trust_forwarded_for, 0, 1)},
      {"render-workers", "2", "renders run at once; one account may use all of them but one",
       integer("render-workers", &Config::render_workers, 1, 64)},
      {"render-sandbox", "strict", "strict: refuse to run compositions, esbuild and ffmpeg where the seccomp sandbox cannot be set up; "
       "permissive: run them unconfined there (never in production)",
       one_of("render-sandbox", &Config::render_sandbox, {"strict", "permissive"})},
      {"media-timeout", "300", "seconds one media-processing job (/v1/ffmpeg...) may run, all its ffmpeg runs together",
       integer("media-timeout", &Config::media_timeout, 1, 86400)},
      {"media-memory-mb", "2048", "memory of one ffmpeg process of a media-processing job",
       integer("media-memory-mb", &Config::media_memory_mb, 64, 65536)},
      {"media-output-mb", "512", "the results of one media-processing job together, in MiB (each file is cut off there too)",
       integer("media-output-mb", &Config::media_output_mb, 1, 65536)},
      {"webhook-retries", "5,300,1800,7200,18000,36000", "seconds between a webhook's attempts, comma-separated (the last "
       "repeats); no attempt starts more than 24 h after its job was admitted",
       [](Config& c, const std::string& v) -> Status {
         std::vector<int64_t> out;
         size_t at = 0;
         while (at <= v.size()) {
           const size_t comma = std::min(v.find(',', at), v.size());
           const std::string n = v.substr(at, comma - at);
           if (n.empty() || n.size() > 6 || n.find_first_not_of("0123456789") != std::string::npos || std::stoll(n) < 1)
             return error(Code::invalid, "invalid setting --webhook-retries: expected seconds like 5,300,1800", "webhook-retries");
           out.push_back(std::stoll(n));
           at = comma + 1;
         }
         c.webhook_retries = out;
         return Status::Ok();
       }},
      {"ca-file", "", "PEM bundle that outgoing HTTPS calls trust instead of the system's CA store (a provider behind "
       "your own CA)", text(&Config::ca_file)},
      {"webhook-timeout-ms", "10000", "deadline of one webhook attempt", integer("webhook-timeout-ms", &Config::webhook_timeout_ms, 100, 120000)},
      {"provider-timeout-ms", "60000", "deadline of one call to a provider", integer("provider-timeout-ms", &Config::provider_timeout_ms, 100, 600000)},
      {"provider-poll-ms", "1000", "interval between status polls of a queued generation", integer("provider-poll-ms", &Config::provider_poll_ms, 10, 60000)},
      {"stripe-url", "https://api.stripe.com", "Stripe-compatible payments API base URL", text(&Config::stripe_url)},
      {"stripe-secret-key", "", "payments secret key; empty: checkout answers 503", text(&Config::stripe_secret_key)},
      {"stripe-webhook-secret", "", "webhook signing secret for POST /api/billing/webhook", text(&Config::stripe_webhook_secret)},
    };
    // Each remote provider's pooled key and base URL (gen/providers/remote.h).
    for (auto& p : remote_providers()) {
      const std::string name = p.name;
      v.push_back({name + "-key", "", "pooled " + p.title + " key (also " + p.key_env + ")",
                   [name](Config& c, const std::string& value) {
                     c.provider_keys[name] = value;
                     return Status::Ok();
                   }});
      v.push_back({name + "-url", p.default_url, p.title + " API base URL", [name](Config& c, const std::string& value) {
                     c.provider_urls[name] = value;
                     return Status::Ok();
                   }});
    }
    return v;
  }();
  return s;
}

std::string env_name(const std::string& name) {
  std::string out = "VARGD_";
  for (char c : name) out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

const Setting* find_setting(const std::string& name) {
  for (auto& s : settings())
    if (name == s.name) return &s;
  return nullptr;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

Status read_config_file(const std::string& path, std::map<std::string, std::string>* out) {
  std::ifstream f(path);
  if (!f) return error(Code::invalid, "invalid setting --config: cannot read '" + path + "'", "config");
  std::string line;
  int n = 0;
  while (std::getline(f, line)) {
    n++;
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos)
      return error(Code::invalid, path + ":" + std::to_string(n) + ": expected 'name = value'", "config");
    std::string k = trim(line.substr(0, eq)), v = trim(line.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    if (!find_setting(k)) return error(Code::invalid, path + ":" + std::to_string(n) + ": unknown setting '" + k + "'", k);
    (*out)[k] = v;
  }
  return Status::Ok();
}

}  // namespace

std::string Config::database_path() const { return database.empty() ? data_dir + "/varg.db" : database; }

Result<ParsedArgs> parse_args(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                              bool allow_extra) {
  ParsedArgs out;
  std::map<std::string, std::string> flags;
  std::string config_file;
  if (auto e = env.find("VARGD_CONFIG"); e != env.end()) config_file = e->second;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out.help = true;
      continue;
    }
    if (!a.starts_with("--")) {
      out.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    auto eq = name.find('=');
    bool has_value = eq != std::string::npos;
    if (has_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
      value = args[++i];
      has_value = true;
    }
    if (name == "config") {
      if (!has_value) return error(Code::invalid, "invalid setting --config: needs a file path", "config");
      config_file = value;
    } else if (find_setting(name)) {
      if (!has_value) return bad(find_setting(name)->name, "needs a value");
      flags[name] = value;
    } else if (allow_extra) {
      out.extra[name] = has_value ? value : "true";
    } else {
      return error(Code::invalid, "unknown flag --" + name + " (see vargd --help)", name);
    }
  }
  std::map<std::string, std::string> file;
  if (!config_file.empty()) VARG_TRY(read_config_file(config_file, &file));
  // The providers' own variable names (seed 001) count as environment settings too.
  std::map<std::string, std::string> env2 = env;
  for (auto& p : remote_providers())
    if (const std::string ours = env_name(p.name + "-key"); !env2.count(ours) && env2.count(p.key_env))
      env2[ours] = env2.at(p.key_env);
  for (auto& s : settings()) {
    std::string v = s.def;
    if (auto it = file.find(s.name); it != file.end()) v = it->second;
    if (auto it = env2.find(env_name(s.name)); it != env2.end()) v = it->second;
    if (auto it = flags.find(s.name); it != flags.end()) v = it->second;
    VARG_TRY(s.apply(out.config, v));
  }
  return out;
}

std::string settings_help() {
  std::ostringstream o;
  o << "usage: vargd [settings]              serve the gateway\n"
       "       vargd admin <command> [...]    operator commands (vargd admin --help)\n\n"
       "Every setting is a flag, an environment variable and a config-file entry (name = value);\n"
       "precedence: flag > environment > file > default.\n\n"
       "  --config FILE (VARGD_CONFIG)\n      config file to read\n";
  for (auto& s : settings())
    o << "  --" << s.name << " (" << env_name(s.name) << ", default \"" << s.def << "\")\n      " << s.help << "\n";
  return o.str();
}

std::map<std::string, std::string> process_env() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; e++) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

}  // namespace varg
