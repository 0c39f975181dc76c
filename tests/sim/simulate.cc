// The money and jobs core proven by simulation (in the manner of TigerBeetle's VOPR and
// FoundationDB's simulation testing). A seeded, deterministic run drives the real Api pipeline,
// Jobs, Ledger and Store — one thread, a ManualClock, Jobs in manual mode, a scripted provider —
// through random interleavings of submits (identical ones too), Idempotency-Key retries from the
// same and from other keys, cancels at every stage (also while a result downloads), provider
// success, failure, timeout, rate limiting and garbage, grants and top-ups, and crashes at any
// database statement (before or after it runs: the process's state is dropped, the store reopened
// and recovery run). After every step it checks, straight from the database:
//   balance = sum(ledger) for every account; no negative balance; reserved = sum of open holds;
//   every open hold belongs to a live job; the live-jobs counter is exact; a job is charged at
//   most once, only if completed, and exactly its price; nothing is cached from a job that did not
//   complete; at most one live leader per cache key (no double generation); no secret is stored.
// At the end every job is run to completion: then nothing is live and nothing is reserved.
//
//   varg_simulate [--seeds N] [--steps M] [--first S] [--trace] [--postgres]
// A failing seed prints its trace; `--first S --seeds 1 --trace` replays it exactly. --postgres
// runs each seed on a fresh database of a real PostgreSQL server the program starts.
#include <libpq-fe.h>
#include <sqlite3.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "api/services.h"
#include "billing/ledger.h"
#include "common/crypto.h"
#include "mail/mailer.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "support/postgres_server.h"

namespace fs = std::filesystem;
using namespace varg;

namespace {

struct Crash {};  // the process died here (deliberately not a std::exception: nothing catches it)

// Counts every statement of one process lifetime and kills the process at the chosen one, before
// or after it runs.
struct Fate {
  int64_t statements = 0, crash_at = -1;
  bool after = false, dead = false;
  void tick(bool ran) {
    if (dead || (crash_at >= 0 && statements == crash_at && ran == after)) {
      dead = true;  // a dead process runs no more statements
      throw Crash{};
    }
  }
};

class Mortal final : public sql::Connection {
 public:
  Mortal(std::unique_ptr<sql::Connection> c, Fate& fate) : c_(std::move(c)), fate_(fate) {}
  Result<sql::Rows> run(std::string_view q, std::span<const sql::Value> p) override {
    fate_.statements++;
    fate_.tick(false);
    auto r = c_->run(q, p);
    fate_.tick(true);
    return r;
  }
  Status exec(const std::string& q) override {
    fate_.statements++;
    fate_.tick(false);
    Status s = c_->exec(q);
    fate_.tick(true);
    return s;
  }
  bool lost_race() const override { return c_->lost_race(); }
  bool broken() override { return c_->broken(); }
  Status reset() override { return c_->reset(); }
  bool in_transaction() override { return c_->in_transaction(); }
  bool transaction_usable() override { return c_->transaction_usable(); }

 private:
  std::unique_ptr<sql::Connection> c_;
  Fate& fate_;
};

// The upstream, scripted by the run's random source: success, failure, timeout, rate limiting,
// garbage (an empty result), or success with a cancel arriving while the result "downloads".
class Scripted final : public Provider {
 public:
  explicit Scripted(bool keyed) : keyed_(keyed) {}
  bool needs_key() const override { return keyed_; }
  bool submits_first() const override { return keyed_; }  // a queue API: processing is written with its id, or never
  std::mt19937_64* rng = nullptr;
  std::function<void(const std::string& job_id)> cancel_now;
  int64_t calls = 0;
  Result<ProviderOutput> generate(ProviderCall& call) override {
    calls++;
    if (call.upstream_id.empty()) {
      call.on_upstream_id("up-" + call.job_id);
      if ((*rng)() % 2) call.running();  // "still working": the id is written; otherwise only with its end
    }
    switch ((*rng)() % 10) {
      case 0: return error(Code::provider_error, "scripted failure");
      case 1: return error(Code::timeout, "scripted timeout");
      case 2: return error(Code::rate_limited, "scripted rate limit");
      case 3: return ProviderOutput{};  // garbage: nothing
      case 4: cancel_now(call.job_id); [[fallthrough]];  // the caller cancels as the result arrives
      default: return ProviderOutput{"\x89PNG\r\n\x1a\n" + call.params.dump(), ""};
    }
  }

 private:
  bool keyed_;
};

// One vargd process over the shared database file.
struct Process {
  Fate fate;
  std::unique_ptr<SqlStore> store;
  std::unique_ptr<SecretHasher> hasher;
  std::unique_ptr<Authenticator> auth;
  Metrics metrics;
  std::unique_ptr<Api> api;
  std::unique_ptr<OutboxMailer> mailer;
  std::unique_ptr<Login> login;
  std::unique_ptr<LocalBlobStore> blobs;
  std::unique_ptr<Files> files;
  std::unique_ptr<ProviderKeys> keys;
  ProviderRegistry providers;
  std::unique_ptr<Jobs> jobs;
  std::unique_ptr<billing::Ledger> ledger;
  std::unique_ptr<Services> services;
  std::vector<Scripted*> scripted;
};

const Catalog& catalog() {
  static const Catalog c = Catalog::builtin();
  return c;
}

class Simulation {
 public:
  Simulation(uint64_t seed, int steps, bool trace, bool postgres)
      : seed_(seed), steps_(steps), print_trace_(trace), postgres_(postgres), rng_(seed) {}

  // true when every invariant held.
  bool run() {
    // In memory when the machine has a tmpfs (fsync costs nothing there; the logic is the same).
    const fs::path base = access("/dev/shm", W_OK) == 0 ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string tmpl = (base / "varg-sim-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return fail("cannot make a temp dir");
    dir_ = tmpl;
    if (postgres_) {
      auto server = testing::shared_postgres();
      if (!server.ok()) return fail("PostgreSQL: " + server.status().message);
      auto url = (*server)->create_database("sim_" + std::to_string(::getpid()) + "_" + std::to_string(seed_));
      if (!url.ok()) return fail("PostgreSQL: " + url.status().message);
      url_ = *url;
    }
    bool ok = body();
    p_.reset();
    if (db_) sqlite3_close(db_);
    if (pg_) PQfinish(pg_);
    fs::remove_all(dir_);
    return ok;
  }

 private:
  bool body() {
    if (!boot(false)) return false;  // setting the accounts up does not crash
    // Accounts, each with a full key and a key that may only generate local models.
    for (int u = 0; u < 3; u++) {
      auto user = p_->store->create_user("sim" + std::to_string(u) + "@example.com", clock_.now());
      if (!user.ok()) return fail("create_user: " + user.status().message);
      users_.push_back(user->id);
      full_.push_back(key_for(user->id, std::nullopt));
      weak_.push_back(key_for(user->id, json{{"api", {{"generate", {{"api.generate.image",
                                                                   {{"constraints", {{"model", {{"in", {"local-image"}}}}}}}}}}}}}));
      if (!p_->ledger->grant(user->id, 40, "sim start").ok()) return fail("grant");
    }
    for (int step = 0; step < steps_; step++) {
      try {
        act(step);
      } catch (const Crash&) {
        note("  ** crash at statement " + std::to_string(p_->fate.crash_at) + (p_->fate.after ? " (after it ran)" : " (before)"));
        if (!boot()) return false;
      }
      if (!check("after step " + std::to_string(step))) return false;
    }
    // Quiescence: no more crashes; run every job to its end.
    if (!boot(false)) return false;
    for (int i = 0; i < 10000 && p_->jobs->step(); i++) clock_.advance_ms(10);
    if (!check("at the end")) return false;
    if (scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'processing')") != 0)
      return fail("live jobs remain after every job ran");
    if (scalar("SELECT COUNT(*) FROM holds") != 0) return fail("reservations remain after every job ran");
    if (print_trace_) {
      for (auto& line : trace_) std::cout << line << "\n";
      for (auto& r : rows("SELECT status, billing_mode, COUNT(*) FROM jobs GROUP BY status, billing_mode"))
        std::cout << "jobs " << r[0] << " " << r[1] << ": " << r[2] << "\n";
      std::cout << "ledger entries: " << scalar("SELECT COUNT(*) FROM ledger") << ", boots: " << boots_ << "\n";
    }
    return true;
  }

  // A fresh process: the old one's memory is gone; the store is reopened and recovery runs.
  bool boot(bool mortal = true) {
    p_.reset();
    auto p = std::make_unique<Process>();
    if (mortal && rng_() % 3 != 0) {
      p->fate.crash_at = int64_t(rng_() % 600);
      p->fate.after = rng_() % 2;
    }
    Fate* fate = &p->fate;
    sql::ConnectionFilter dies = [fate](std::unique_ptr<sql::Connection> c) {
      return std::unique_ptr<sql::Connection>(new Mortal(std::move(c), *fate));
    };
    if (postgres_) {
      PostgresStore::Options o;
      o.connections = 2;
      o.filter = dies;
      auto opened = PostgresStore::open(url_, o);
      if (!opened.ok()) return fail("reopen: " + opened.status().message);
      p->store = std::move(*opened);
    } else {
      auto opened = SqliteStore::open((dir_ / "varg.db").string(), 2, dies);
      if (!opened.ok()) return fail("reopen: " + opened.status().message);
      p->store = std::move(*opened);
    }
    p->hasher = std::make_unique<SecretHasher>(std::string(32, 'p'));
    p->auth = std::make_unique<Authenticator>(*p->store, clock_, *p->hasher);
    p->api = std::make_unique<Api>(Api::Options{1 << 20, 1, 64}, *p->auth, p->metrics);
    p->mailer = std::make_unique<OutboxMailer>((dir_ / "outbox").string(), "varg@localhost");
    p->login = std::make_unique<Login>(*p->store, *p->mailer, *p->hasher, clock_, Login::Limits{});
    p->blobs = std::make_unique<LocalBlobStore>((dir_ / "blobs").string());
    p->files = std::make_unique<Files>(*p->store, *p->blobs, *p->hasher, clock_, "http://sim.test");
    p->keys = std::make_unique<ProviderKeys>(*p->store, clock_, std::string(32, 'm'),
                                             std::map<std::string, std::string>{{"fal", "pooled-fal-key"}});
    // The pooled, metered upstream (fal) and the free one (local), both scripted.
    for (const char* name : {"fal", "local"}) {
      auto scripted = std::make_unique<Scripted>(std::string(name) == "fal");
      scripted->rng = &rng_;
      p->scripted.push_back(scripted.get());
      p->providers[name] = std::move(scripted);
    }
    Jobs::Options jo;
    jo.manual = true;
    jo.max_active_per_account = 4;
    jo.workers = 0;
    p->jobs = std::make_unique<Jobs>(*p->store, *p->files, p->providers, *p->keys, catalog(), clock_, jo);
    p->ledger = std::make_unique<billing::Ledger>(*p->store, clock_);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
    p->services.reset(new Services{*p->store, clock_, *p->hasher, *p->auth, p->metrics, *p->login, "http://sim.test",
                                   p->jobs.get(), p->files.get(), p->keys.get()});
#pragma GCC diagnostic pop
    add_generation_routes(*p->api, *p->services);
    p->api->enable_idempotency(*p->store, clock_);
    Process* raw = p.get();
    for (Scripted* sp : p->scripted)
      sp->cancel_now = [this, raw](const std::string& job_id) {
        note("  cancel while the result downloads " + job_id);
        for (size_t u = 0; u < users_.size(); u++) (void)raw->jobs->cancel(users_[u], job_id);
      };
    p_ = std::move(p);
    boots_++;
    note("boot" + std::string(p_->fate.crash_at >= 0 ? " (dies at statement " + std::to_string(p_->fate.crash_at) + ")" : ""));
    p_->jobs->start();  // recovery (may crash too: the caller boots again)
    return true;
  }

  std::string key_for(int64_t user, std::optional<json> perms) {
    KeyRequest req{user, "sim", std::nullopt, std::nullopt};
    if (perms) req.permissions = *Permissions::parse(*perms);
    auto k = issue_key(*p_->store, *p_->hasher, req, clock_.now());
    return k.ok() ? k->key : "";
  }

  void act(int step) {
    const int u = int(rng_() % users_.size());
    switch (rng_() % 10) {
      case 0: case 1: case 2: case 3: submit(step, u); break;
      case 4: case 5: case 6: {
        bool ran = p_->jobs->step();
        note("step jobs" + std::string(ran ? "" : " (none waiting)"));
        break;
      }
      case 7: {  // cancel one of the account's jobs, whatever its state
        auto jobs = p_->store->jobs_of(users_[u], 0, clock_.now() + 1, "", 50);
        if (!jobs.ok() || jobs->empty()) break;
        const JobRecord& j = (*jobs)[rng_() % jobs->size()];
        Status st = p_->jobs->cancel(users_[u], j.id);
        note("cancel " + j.id + " (" + job_status_name(j.status) + "): " + (st.ok() ? "ok" : st.message));
        break;
      }
      case 8: {  // money in: an operator's grant, or a top-up (its event delivered once or twice)
        if (rng_() % 2) {
          note("grant 20 to user " + std::to_string(u) + ": " + (p_->ledger->grant(users_[u], 20, "sim").ok() ? "ok" : "failed"));
        } else {
          const std::string session = "cs_" + std::to_string(rng_() % 4);
          note("top-up " + session + " for user " + std::to_string(u) + ": " +
               (p_->ledger->purchase(users_[u], 30, session + "_" + std::to_string(u)).ok() ? "ok" : "failed"));
        }
        break;
      }
      default: {
        const int64_t ms = int64_t(rng_() % 3) == 0 ? 70'000 : int64_t(rng_() % 2000);
        clock_.advance_ms(ms);
        note("clock +" + std::to_string(ms) + " ms");
      }
    }
  }

  void submit(int step, int u) {
    static const char* kPrompts[] = {"a", "b", "c", "d", "e", "f"};
    const bool weak = rng_() % 5 == 0;
    const bool local = rng_() % 6 == 0;
    json body = {{"model", local ? "local-image" : "flux-pro"}, {"prompt", kPrompts[rng_() % 6]}};
    Request req;
    req.method = "POST";
    req.target = req.path = "/v1/image";
    req.headers.emplace_back("authorization", "Bearer " + (weak ? weak_[u] : full_[u]));
    req.headers.emplace_back("content-type", "application/json");
    switch (rng_() % 8) {
      case 0: req.headers.emplace_back("cache-control", "no-cache"); break;
      case 1: req.headers.emplace_back("cache-control", "no-store"); break;
      default: break;
    }
    if (rng_() % 3 == 0) req.headers.emplace_back("idempotency-key", "idem-" + std::to_string(rng_() % 4));
    req.body = body.dump();
    Response res = p_->api->run(req);
    std::string what = res.body.substr(0, 160);
    note("submit user " + std::to_string(u) + (weak ? " (weak key) " : " ") + req.body + " → " +
         std::to_string(res.status) + " " + what);
    (void)step;
    if (res.status >= 500 && res.status != 503) failed_ = "a submit answered " + std::to_string(res.status) + ": " + res.body;
  }

  // ---- checking, straight from the database file ----

  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    std::vector<std::vector<std::string>> out;
    if (postgres_) {
      if (!pg_) pg_ = PQconnectdb(url_.c_str());
      PGresult* r = PQexec(pg_, sql.c_str());
      if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        failed_ = "check query failed: " + std::string(PQresultErrorMessage(r)) + ": " + sql;
      } else {
        for (int i = 0; i < PQntuples(r); i++) {
          std::vector<std::string> row;
          for (int c = 0; c < PQnfields(r); c++) row.emplace_back(PQgetvalue(r, i, c));
          out.push_back(std::move(row));
        }
      }
      PQclear(r);
      return out;
    }
    if (!db_ && sqlite3_open_v2((dir_ / "varg.db").c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return out;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      failed_ = "check query failed: " + std::string(sqlite3_errmsg(db_)) + ": " + sql;
      return out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> r;
      for (int c = 0; c < sqlite3_column_count(st); c++) {
        auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        r.emplace_back(t ? t : "");
      }
      out.push_back(std::move(r));
    }
    sqlite3_finalize(st);
    return out;
  }
  int64_t scalar(const std::string& sql) {
    auto r = rows(sql);
    return r.empty() || r[0].empty() ? -1 : std::stoll(r[0][0]);
  }
  // Each query lists violations; any row is a failure.
  bool none(const std::string& what, const std::string& sql) {
    auto r = rows(sql);
    if (r.empty()) return failed_.empty();
    std::string row;
    for (auto& c : r[0]) row += c + " | ";
    failed_ = what + ": " + row;
    return false;
  }

  bool check(const std::string& when) {
    const char* kSum =
        "(SELECT COALESCE(SUM(CASE WHEN kind IN ('grant','purchase','refund','adjustment') THEN amount "
        "WHEN kind = 'capture' THEN -amount ELSE 0 END), 0) FROM ledger l WHERE l.user_id = a.user_id)";
    const char* kHeld =
        "(SELECT COALESCE(SUM(CASE kind WHEN 'reserve' THEN amount WHEN 'capture' THEN -amount "
        "WHEN 'release' THEN -amount ELSE 0 END), 0) FROM ledger l WHERE l.user_id = a.user_id)";
    bool ok = failed_.empty() &&
              none("balance is not the sum of the ledger",
                   std::string("SELECT a.user_id, a.settled, a.reserved FROM accounts a WHERE a.settled <> ") + kSum +
                       " OR a.reserved <> " + kHeld) &&
              none("negative balance", "SELECT user_id, settled, reserved FROM accounts WHERE settled - reserved < 0 OR reserved < 0") &&
              none("reserved is not the sum of open holds",
                   "SELECT a.user_id FROM accounts a WHERE a.reserved <> (SELECT COALESCE(SUM(amount), 0) FROM holds h "
                   "WHERE h.user_id = a.user_id)") &&
              none("a hold without a live job",
                   "SELECT h.reservation FROM holds h LEFT JOIN jobs j ON j.id = h.job_id "
                   "WHERE j.id IS NULL OR j.status NOT IN ('queued', 'processing')") &&
              none("the live-jobs counter is wrong",
                   "SELECT a.user_id, a.active FROM accounts a WHERE a.active <> (SELECT COUNT(*) FROM jobs j "
                   "WHERE j.user_id = a.user_id AND j.status IN ('queued', 'processing'))") &&
              none("a job charged more than once, or not completed, or not its price",
                   "SELECT j.id, j.status, COUNT(l.id), SUM(l.amount), j.cost_cents FROM jobs j JOIN ledger l "
                   "ON l.kind = 'capture' AND l.ref = j.reservation AND j.reservation <> '' GROUP BY j.id "
                   "HAVING COUNT(l.id) > 1 OR j.status <> 'completed' OR SUM(l.amount) <> j.cost_cents") &&
              none("a charge for no job", "SELECT l.ref FROM ledger l WHERE l.kind = 'capture' AND NOT EXISTS "
                                          "(SELECT 1 FROM jobs j WHERE j.reservation = l.ref)") &&
              none("a cached result from a job that did not complete",
                   "SELECT c.key FROM cache c WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.cache_key = c.key "
                   "AND j.status = 'completed' AND j.output_file_id = c.file_id AND NOT j.cache_hit)") &&
              none("two live jobs generate the same thing",
                   "SELECT cache_key, COUNT(*) FROM jobs WHERE leader = '' AND cache_key <> '' AND cache_mode <> "
                   "'no-store' AND status IN ('queued', 'processing') GROUP BY cache_key HAVING COUNT(*) > 1") &&
              none("a follower of a finished leader is still waiting",
                   "SELECT f.id FROM jobs f JOIN jobs l ON l.id = f.leader WHERE f.status IN ('queued', 'processing') "
                   "AND l.status NOT IN ('queued', 'processing')") &&
              none("a secret in a stored row",
                   "SELECT key FROM idempotency WHERE response LIKE '%varg\\_%' ESCAPE '\\' OR response LIKE '%vat\\_%' ESCAPE '\\'");
    if (!ok) return fail(when + ": " + failed_);
    return true;
  }

  void note(const std::string& line) { trace_.push_back(line); }
  bool fail(const std::string& why) {
    std::cerr << "seed " << seed_ << ": " << why << "\n";
    const size_t from = print_trace_ || trace_.size() < 200 ? 0 : trace_.size() - 200;
    std::cerr << "--- trace" << (from ? " (last 200 lines; --trace for all)" : "") << " ---\n";
    for (size_t i = from; i < trace_.size(); i++) std::cerr << trace_[i] << "\n";
    std::cerr << "replay: varg_simulate --first " << seed_ << " --seeds 1 --steps " << steps_ << " --trace\n";
    return false;
  }

  uint64_t seed_;
  int steps_;
  bool print_trace_, postgres_;
  std::mt19937_64 rng_;
  std::string url_;
  PGconn* pg_ = nullptr;
  ManualClock clock_{1'800'000'000'000};
  fs::path dir_;
  std::unique_ptr<Process> p_;
  sqlite3* db_ = nullptr;
  std::vector<int64_t> users_;
  std::vector<std::string> full_, weak_;
  std::vector<std::string> trace_;
  std::string failed_;
  int boots_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int seeds = 20, steps = 500;
  uint64_t first = 1;
  bool trace = false, postgres = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--seeds") seeds = std::stoi(next());
    else if (a == "--steps") steps = std::stoi(next());
    else if (a == "--first") first = std::stoull(next());
    else if (a == "--trace") trace = true;
    else if (a == "--postgres") postgres = true;
    else { std::cerr << "usage: varg_simulate [--seeds N] [--steps M] [--first S] [--trace] [--postgres]\n"; return 2; }
  }
  crypto_init();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("sim", std::make_shared<spdlog::sinks::null_sink_mt>()));
  int failures = 0;
  for (uint64_t s = first; s < first + uint64_t(seeds); s++)
    if (!Simulation(s, steps, trace, postgres).run()) failures++;
  std::cout << "simulated " << seeds << " seeds × " << steps << " steps on " << (postgres ? "PostgreSQL" : "SQLite")
            << ": " << failures << " failed\n";
  return failures ? 1 : 0;
}
