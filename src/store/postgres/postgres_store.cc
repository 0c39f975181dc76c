#include "store/postgres/postgres_store.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "store/postgres/pg_conn.h"
#include "store/postgres/postgres_schema.h"

namespace varg {

// The balance cache's version: moved by this process's commits and, from a thread of its own
// that LISTENs to varg_balances, at each notification and at each (re)connection. While that
// connection is down there is no version (nothing is kept); it reconnects once a second.
struct PostgresStore::BalanceSignal final : BalanceCache::Signal {
  BalanceSignal(std::string url, int timeout_ms) : wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    auto first = connect(url, timeout_ms);  // before the store is used: its first reads can be kept
    thread = std::thread([this, url = std::move(url), timeout_ms, c = std::move(first)]() mutable {
      for (;;) {
        if (c) listen(*c);
        if (stop) return;
        if (!c) wait(-1, 1000);
        c = connect(url, timeout_ms);
      }
    });
  }
  ~BalanceSignal() override {
    stop = true;
    (void)!::eventfd_write(wake, 1);
    thread.join();
    ::close(wake);
  }
  std::optional<uint64_t> version() const override {
    if (!listening) return std::nullopt;
    return count.load();
  }
  void written() { count++; }

 private:
  // Waits up to ms for the connection's socket (or the stop signal) to be readable.
  bool wait(int socket, int ms) {
    pollfd p[2] = {{wake, POLLIN, 0}, {socket, POLLIN, 0}};
    ::poll(p, socket >= 0 ? 2 : 1, ms);
    return !stop && socket >= 0 && (p[1].revents != 0);
  }
  // A listening connection, or null; from it on there is a version again.
  std::unique_ptr<pg::Conn> connect(const std::string& url, int timeout_ms) {
    auto c = pg::Conn::open(url, timeout_ms);
    if (!c.ok() || !(*c)->exec("LISTEN varg_balances").ok()) return nullptr;
    count++;  // what was written while nobody listened is unknown
    listening = true;
    return std::move(*c);
  }
  void listen(pg::Conn& c) {
    while (!stop && c.connected())
      if (wait(c.socket(), 1000) && !c.notifications(0).empty()) count++;
    listening = false;
    count++;
  }
  const int wake;
  std::atomic<bool> stop = false, listening = false;
  std::atomic<uint64_t> count{0};
  std::thread thread;  // last: started once the rest exists
};

namespace {
constexpr int64_t kWriteLock = 0x76617268;  // one id for every vargd ("varh"; migrations use "varg")
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const std::string& url, Options opts) {
  {
    auto boot = pg::Conn::open(url, opts.statement_timeout_ms);
    if (!boot.ok()) return boot.status();
    VARG_TRY(pg::migrate(**boot));
  }
  sql::Engine e;
  // Every write transaction holds one advisory lock shared; a re-run after a lost race takes it
  // exclusively, so it waits for the writers in flight (on every instance), runs alone, and
  // cannot lose again (PostgreSQL queues new shared requests behind a waiting exclusive one).
  // The re-run is READ COMMITTED: a SERIALIZABLE snapshot would be taken when the lock statement
  // starts, before the wait, and a writer committing during the wait would make it lose again.
  // Alone, each statement's fresh snapshot is the serial order.
  e.begin = "BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT pg_advisory_xact_lock_shared(" + std::to_string(kWriteLock) + ")";
  e.begin_alone = "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(" + std::to_string(kWriteLock) + ")";
  e.writers = std::max(1, opts.writers);
  e.readers = std::max(1, opts.connections);
  e.pool_wait_ms = opts.pool_wait_ms;
  e.filter = opts.filter;
  e.announce = "SELECT pg_notify('varg_jobs', CAST(? AS TEXT))";
  e.connect = [url, timeout = opts.statement_timeout_ms](bool) -> Result<std::unique_ptr<sql::Connection>> {
    auto c = pg::Conn::open(url, timeout);
    if (!c.ok()) return c.status();
    return std::unique_ptr<sql::Connection>(std::move(*c));
  };
  auto signal = std::make_shared<BalanceSignal>(url, opts.statement_timeout_ms);
  e.committed = [signal] { signal->written(); };
  auto db = sql::Db::open(std::move(e));
  if (!db.ok()) return db.status();
  std::unique_ptr<PostgresStore> store(new PostgresStore(std::move(*db)));
  store->balances_ = std::make_unique<BalanceCache>(std::move(signal));
  store->url_ = url;
  store->timeout_ms_ = opts.statement_timeout_ms;
  return store;
}

PostgresStore::~PostgresStore() = default;

Result<Balance> PostgresStore::balance(int64_t user_id) {
  return balances_->get(user_id, [&] { return SqlStore::balance(user_id); });
}

std::vector<std::string> PostgresStore::job_changes(int timeout_ms) {
  std::lock_guard lk(listen_mu_);
  if (!listener_ || !listener_->connected()) {  // (re)connect: announcements made meanwhile are lost,
    listener_.reset();                      // which the callers' slower polling covers
    auto c = pg::Conn::open(url_, timeout_ms_);
    if (!c.ok() || !(*c)->exec("LISTEN varg_jobs").ok()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
      return {};
    }
    listener_ = std::move(*c);
  }
  std::vector<std::string> ids;
  for (auto& payload : listener_->notifications(timeout_ms)) {
    size_t at = 0;
    while (at <= payload.size()) {
      size_t comma = payload.find(',', at);
      if (comma == std::string::npos) comma = payload.size();
      if (comma > at) ids.push_back(payload.substr(at, comma - at));
      at = comma + 1;
    }
  }
  return ids;
}

Result<std::string> PostgresStore::shared_secret(const std::string& fresh) {
  std::string value;
  VARG_TRY(db().write([&](sql::Tx& t) -> Status {
    VARG_TRY(t.run("INSERT INTO settings(name, value) VALUES('server_secret', ?) ON CONFLICT (name) DO NOTHING", {fresh}));
    auto r = t.run("SELECT value FROM settings WHERE name = 'server_secret'");
    if (!r.ok()) return r.status();
    if (r->empty()) return error(Code::internal, "the shared server secret vanished");
    value = r->text(0, 0);
    return Status::Ok();
  }));
  return value;
}

}  // namespace varg
