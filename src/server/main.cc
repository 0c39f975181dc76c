// vargd: the gateway server, and `vargd admin` operator commands on the same binary.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "api/api.h"
#include "api/render_routes.h"
#include "api/services.h"
#include "common/crypto.h"
#include "common/sandbox.h"
#include "http/client.h"
#include "http/server.h"
#include "gen/providers/remote.h"
#include "mail/mailer.h"
#include "server/admin.h"
#include "server/backup.h"
#include "server/config.h"
#include "server/log_sink.h"
#include "server/secret.h"
#include "store/open_store.h"

using namespace varg;

namespace {

// The log: one JSON object per line, buffered in memory and written every second, at once for
// warnings and errors, and at exit (server/log_sink.h).
void setup_logging(const std::string& level) {
  auto logger = std::make_shared<spdlog::logger>("vargd", std::make_shared<BufferedFdSink>(STDERR_FILENO));
  // Every line is one JSON object; the event part is always a JSON object we built.
  logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","event":%v})", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

int serve(const Config& cfg) {
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  if (ec) {
    std::cerr << "vargd: cannot create data directory " << cfg.data_dir << ": " << ec.message() << "\n";
    return 1;
  }
  // Held (shared) until the process exits: `vargd admin restore` waits for every vargd to stop.
  if (lock_data_dir(cfg.data_dir, false) < 0) {
    std::cerr << "vargd: " << cfg.data_dir << " is being restored (vargd admin restore); start again once it is done\n";
    return 1;
  }
  auto opened = open_store(cfg.database_path(), cfg.workers, cfg.secret);
  if (!opened.ok()) {
    std::cerr << "vargd: " << opened.status().message << "\n";
    return 1;
  }
  auto* store = &opened->store;  // **store is the Store
  auto secret = load_secret(opened->secret_hex, cfg.data_dir);
  if (!secret.ok()) {
    std::cerr << "vargd: " << secret.status().message << "\n";
    return 1;
  }
  setup_logging(cfg.log_level);

  SystemClock clock;
  SecretHasher hasher(secret->pepper);
  Authenticator auth(**store, clock, hasher);
  Metrics metrics;
  auto mailer = make_mailer(cfg.mail, cfg.data_dir + "/outbox",
                            SmtpMailer::Options{"", cfg.smtp_user, cfg.smtp_password, cfg.mail_from,
                                                cfg.smtp_tls, long(cfg.smtp_timeout_ms)});
  Login::Limits limits;
  limits.welcome_credits = cfg.welcome_credits;
  limits.per_email_client_hour = cfg.otp_per_email_hour;
  limits.per_email_hour = cfg.otp_email_ceiling_hour;
  limits.per_ip_hour = cfg.otp_per_ip_hour;
  Login login(**store, *mailer, hasher, clock, limits);
  Api api(Api::Options{cfg.json_body_limit, cfg.workers, 4096, cfg.trust_forwarded_for == 1, !opened->shared}, auth, metrics);

  Server::Options so;
  so.host = cfg.listen_host;
  so.port = cfg.listen_port;
  so.threads = cfg.threads;
  so.header_limit = cfg.header_limit;
  so.read_timeout = std::chrono::milliseconds(cfg.read_timeout_ms);
  so.min_rate = size_t(cfg.min_transfer_rate);
  so.max_connections = size_t(cfg.max_connections);
  so.max_connections_per_ip = size_t(cfg.max_connections_per_ip);
  so.max_body_bytes = size_t(cfg.max_body_bytes);
  so.max_body_bytes_per_ip = size_t(cfg.max_body_bytes_per_ip);
  so.idle_timeout = std::chrono::milliseconds(cfg.idle_timeout_ms);
  so.write_timeout = std::chrono::milliseconds(cfg.write_timeout_ms);
  so.shutdown_grace = std::chrono::milliseconds(cfg.shutdown_grace_ms);
  Server server(so, api);
  uint16_t port;
  try {
    port = server.listen();
  } catch (const std::exception& e) {
    std::cerr << "vargd: cannot listen on " << cfg.listen_host << ":" << cfg.listen_port << ": " << e.what() << "\n";
    return 1;
  }
  const std::string base = "http://" + cfg.listen_host + ":" + std::to_string(port);
  const std::string public_url = cfg.public_url.empty() ? base : cfg.public_url;
  Catalog catalog = Catalog::builtin();
  if (!cfg.catalog.empty()) {
    std::ifstream in(cfg.catalog);
    auto doc = nlohmann::json::parse(in, nullptr, false);
    auto parsed = Catalog::parse(doc);
    if (!in || !parsed.ok()) {
      std::cerr << "vargd: invalid setting --catalog: " << (in ? parsed.status().message : "cannot read " + cfg.catalog) << "\n";
      return 2;
    }
    catalog = std::move(*parsed);
  }
  LocalBlobStore blobs(cfg.data_dir + "/blobs");
  Files files(**store, blobs, hasher, clock, public_url, cfg.files_url);
  ProviderKeys provider_keys(**store, clock, secret->master_key, cfg.provider_keys);
  if (!cfg.ca_file.empty()) set_http_ca_file(cfg.ca_file);
  ProviderRegistry providers;
  providers["local"] = make_local_provider();
  FfmpegSettings media;
  media.timeout_s = int(cfg.media_timeout);
  media.memory_mb = cfg.media_memory_mb;
  media.max_output_mb = cfg.media_output_mb;
  media.require_confinement = cfg.render_sandbox == "strict";
  providers["ffmpeg"] = make_ffmpeg_provider(blobs, media);
  if (sandbox::landlock_abi() == 0)
    spdlog::warn(json{{"msg", "no Landlock in this kernel: media jobs' ffmpeg is held to its own files by the command checks only"}}.dump());
  for (auto& p : remote_providers()) {
    Upstream u;
    u.provider = p.name;
    u.base_url = cfg.provider_urls.at(p.name);
    while (!u.base_url.empty() && u.base_url.back() == '/') u.base_url.pop_back();
    u.allow_private = cfg.allow_private_provider_urls == 1;
    u.timeout_ms = long(cfg.provider_timeout_ms);
    u.poll_ms = long(cfg.provider_poll_ms);
    providers[p.name] = p.make(std::move(u));
  }
  Jobs::Options jo;
  jo.workers = cfg.job_workers;
  jo.cache_ttl = cfg.cache_ttl;
  jo.input_max_bytes = cfg.upload_body_limit;
  jo.cache_per_account = cfg.cache_scope == "account";
  jo.allow_private_urls = cfg.allow_private_urls == 1;
  jo.allow_private_results = cfg.allow_private_provider_urls == 1;
  jo.max_active_per_account = cfg.max_active_jobs;
  jo.lease_ms = cfg.job_lease_ms;
  jo.shared_store = opened->shared;
  jo.breaker = {cfg.breaker_failures, cfg.breaker_open_ms};
  jo.max_queued = size_t(cfg.max_queued_jobs);
  Jobs jobs(**store, files, providers, provider_keys, catalog, clock, jo);
  metrics.add_source([&jobs] { return jobs.metrics(); });
  metrics.add_source([store] { return (*store)->metrics(); });

  Webhooks::Options wo;
  wo.backoff_s = cfg.webhook_retries;
  wo.timeout_ms = long(cfg.webhook_timeout_ms);
  wo.allow_private_urls = cfg.allow_private_urls == 1;
  Webhooks webhooks(**store, jobs, clock, secret->master_key, wo);

  billing::Payments payments(**store, clock, {cfg.stripe_url, cfg.stripe_secret_key, cfg.stripe_webhook_secret,
                                              public_url + "/dashboard?tab=billing"});
  Services services{**store, clock, hasher, auth, metrics, login, public_url, &jobs, &files, &provider_keys, &payments, &webhooks};
  api.enable_idempotency(**store, clock);
  api.enable_rate_limit(std::make_unique<RateLimiter>(clock, cfg.rate_limit_rpm, opened->shared ? store->get() : nullptr));
  add_system_routes(api, services);
  add_account_routes(api, services);
  add_login_routes(api, services);
  add_vast_routes(api, services);
  add_generation_routes(api, services);
  add_billing_routes(api, services);
  add_dashboard_routes(api, services);
  add_webhook_routes(api, services);
  add_mcp_routes(api, services);
  add_oauth_routes(api, services);
  api.set_public_origin(public_url);
  render::RenderSettings render_settings;
  render_settings.workers = cfg.render_workers;
  render_settings.require_confinement = cfg.render_sandbox == "strict";
  render::RenderService renders(**store, jobs, files, provider_keys, clock, render_settings);
  add_render_routes(api, renders, services);
  jobs.start();
  renders.start();
  webhooks.start();

  server.catch_signals();  // before the address is announced: a SIGTERM from then on stops gracefully
  std::cout << "vargd listening on " << base << " (database " << redacted_database(cfg.database_path()) << ")\n"
            << "Get an API key:  vargd admin create-user --email you@example.com --credits 1000"
            << (cfg.data_dir != "./data" ? " --data-dir " + cfg.data_dir : "") << "\n"
            << "Then:            curl -H \"Authorization: Bearer $KEY\" " << base << "/v1/balance\n"
            << std::flush;
  spdlog::info(json{{"msg", "listening"}, {"address", base}, {"public_url", services.public_url}}.dump());
  server.run();
  webhooks.stop();
  renders.stop();
  jobs.stop(std::chrono::milliseconds(cfg.job_drain_ms));
  spdlog::info(json{{"msg", "stopped"}}.dump());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    crypto_init();
    std::vector<std::string> args(argv + 1, argv + argc);
    const bool admin = !args.empty() && args[0] == "admin";
    auto parsed = parse_args(args, process_env(), admin);
    if (!parsed.ok()) {
      std::cerr << "vargd: " << parsed.status().message << "\n";
      return 2;
    }
    if (admin) return run_admin(*parsed);
    if (parsed->help) {
      std::cout << settings_help();
      return 0;
    }
    if (!parsed->positional.empty()) {
      std::cerr << "vargd: unexpected argument '" << parsed->positional[0] << "' (see vargd --help)\n";
      return 2;
    }
    const int rc = serve(parsed->config);
    spdlog::shutdown();  // the buffered log's last lines
    return rc;
  } catch (const std::exception& e) {
    spdlog::shutdown();
    std::cerr << "vargd: " << e.what() << "\n";
    return 1;
  }
}
