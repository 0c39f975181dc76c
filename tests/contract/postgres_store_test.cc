// PostgresStore: the contract suite's "postgres" instance on a real PostgreSQL server (started by
// tests/support/postgres_server), plus what only a shared server-backed store has to promise:
// several stores (instances) on one database, concurrent migrations, reconnecting after a restart.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "../support/postgres_server.h"
#include "store/postgres/postgres_store.h"
#include "store_contract.h"

namespace varg {

namespace {

std::atomic<int> g_databases{0};

// A fresh database on the shared test server.
Result<std::string> fresh_database() {
  auto server = testing::shared_postgres();
  if (!server.ok()) return server.status();
  return (*server)->create_database("varg_" + std::to_string(::getpid()) + "_" + std::to_string(g_databases++));
}

Result<std::unique_ptr<PostgresStore>> open(const std::string& url, int connections = 8) {
  PostgresStore::Options o;
  o.connections = connections;
  return PostgresStore::open(url, o);
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Postgres, StoreContract,
                         ::testing::Values(StoreFactory{
                             "postgres",
                             [](const std::filesystem::path&) -> Result<std::unique_ptr<Store>> {
                               auto url = fresh_database();
                               if (!url.ok()) return url.status();
                               auto s = open(*url);
                               if (!s.ok()) return s.status();
                               return std::unique_ptr<Store>(std::move(*s));
                             }}),
                         factory_name);

namespace {

constexpr int64_t kNow = 1'800'000'000;

class PostgresOnlyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = fresh_database();
    ASSERT_TRUE(url.ok()) << url.status().message;
    url_ = *url;
  }
  std::unique_ptr<PostgresStore> store(int connections = 4) {
    auto s = open(url_, connections);
    EXPECT_TRUE(s.ok()) << s.status().message;
    return s.ok() ? std::move(*s) : nullptr;
  }
  // A new account holding `credits`; 0 when it could not be made.
  int64_t funded(Store& s, int64_t credits) {
    auto u = s.create_user("a@example.com", kNow);
    EXPECT_TRUE(u.ok());
    if (!u.ok() || !s.append({0, u->id, EntryKind::grant, credits, "g", "", kNow}).ok()) return 0;
    return u->id;
  }
  void exec(const std::string& sql) {
    PGconn* c = PQconnectdb(url_.c_str());
    PGresult* r = PQexec(c, sql.c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
  }
  std::string url_;
};

TEST_F(PostgresOnlyTest, TwoInstancesOnOneDatabaseNeverOverdrawTheSameAccount) {
  auto a = store(4), b = store(4);
  ASSERT_TRUE(a && b);
  const int64_t user = funded(*a, 50);
  ASSERT_TRUE(user);
  std::atomic<int> ok{0}, other{0};
  std::mutex m;
  std::string unexpected;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++)
    threads.emplace_back([&, t] {
      Store& s = t % 2 ? static_cast<Store&>(*a) : static_cast<Store&>(*b);
      for (int i = 0; i < 20; i++) {
        auto r = s.append({0, user, EntryKind::reserve, 1, "h-" + std::to_string(t) + "-" + std::to_string(i), "", kNow});
        if (r.ok()) {
          ok++;
        } else if (r.status().code != Code::insufficient_balance) {
          other++;
          std::lock_guard l(m);
          unexpected += r.status().message + "\n";
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 50);
  EXPECT_EQ(other, 0) << unexpected;
  EXPECT_EQ(b->balance(user)->reserved, 50);
  EXPECT_EQ(a->ledger_sum(user)->reserved, 50);
}

// A write that lost a race runs again alone and cannot lose a second time, even when a writer
// that was in flight while the re-run waited for its turn changes the same row and commits.
TEST_F(PostgresOnlyTest, AReRunAfterALostRaceCannotLoseAgain) {
  auto s = store(1);
  ASSERT_TRUE(s);
  const int64_t user = funded(*s, 50);
  ASSERT_TRUE(user);
  auto session = [&] { return PQconnectdb(url_.c_str()); };
  auto run = [](PGconn* c, const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    EXPECT_TRUE(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
        << sql << ": " << PQresultErrorMessage(r);
    PQclear(r);
  };
  auto waiting = [&](const char* locktype) {  // the store's writer waits on a lock of this type
    for (int i = 0; i < 500; i++) {
      PGconn* c = session();
      PGresult* r = PQexec(c, (std::string("SELECT 1 FROM pg_locks WHERE NOT granted AND locktype = '") + locktype + "'").c_str());
      bool found = PQntuples(r) > 0;
      PQclear(r);
      PQfinish(c);
      if (found) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  const std::string shared = "SELECT pg_advisory_xact_lock_shared(" + std::to_string(0x76617268) + ")";
  const std::string touch = "UPDATE accounts SET settled = settled + 0 WHERE user_id = " + std::to_string(user);
  PGconn* first = session();
  PGconn* second = session();
  run(first, "BEGIN");
  run(first, shared);
  run(first, touch);  // holds the account's row
  run(second, "BEGIN");
  run(second, shared);  // a writer in flight
  Result<LedgerEntry> held = error(Code::internal, "not run");
  std::thread writer([&] { held = s->append({0, user, EntryKind::reserve, 1, "h", "", kNow}); });
  EXPECT_TRUE(waiting("transactionid"));  // blocked on the row
  run(first, "COMMIT");                   // its serializable transaction lost: it runs again alone
  EXPECT_TRUE(waiting("advisory"));       // waiting for the writer in flight
  run(second, touch);
  run(second, "COMMIT");
  writer.join();
  PQfinish(first);
  PQfinish(second);
  ASSERT_TRUE(held.ok()) << held.status().message;
  EXPECT_EQ(s->db_counters().reruns, 1);
  EXPECT_EQ(s->balance(user)->reserved, 1);
}

TEST_F(PostgresOnlyTest, InstancesStartingTogetherMigrateOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::vector<std::string> errors(6);
  for (int t = 0; t < 6; t++)
    threads.emplace_back([&, t] {
      auto s = open(url_, 1);
      if (s.ok()) ok++; else errors[t] = s.status().message;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 6) << errors[0] << errors[1] << errors[2];
  auto s = store(1);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->create_user("a@example.com", kNow).ok());
}

TEST_F(PostgresOnlyTest, ADatabaseFromANewerVargdIsRefused) {
  { ASSERT_TRUE(store(1)); }
  exec("INSERT INTO schema_migrations(version, applied_at) VALUES(9999, 0)");
  auto s = open(url_, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message.find("newer"), std::string::npos) << s.status().message;
}

TEST_F(PostgresOnlyTest, AnUnreachableServerIsAClearUnavailableError) {
  auto s = open("postgresql://varg@127.0.0.1:1/varg", 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code, Code::unavailable);
  EXPECT_NE(s.status().message.find("PostgreSQL"), std::string::npos) << s.status().message;
}

TEST_F(PostgresOnlyTest, InstancesAgreeOnTheFirstSharedSecret) {
  auto a = store(1), b = store(1);
  ASSERT_TRUE(a && b);
  auto first = a->shared_secret(std::string(64, 'a'));
  auto second = b->shared_secret(std::string(64, 'b'));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, std::string(64, 'a'));
  EXPECT_EQ(*second, *first);
}

TEST_F(PostgresOnlyTest, AJobMovedOnOneInstanceIsAnnouncedToAnother) {
  auto a = store(2), b = store(2);
  ASSERT_TRUE(a && b);
  auto u = a->create_user("a@example.com", kNow);
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(b->job_changes(50).empty());  // listening from now on
  JobRecord j;
  j.id = "job_1";
  j.user_id = u->id;
  j.capability = "image";
  j.model = "fal:flux-pro";
  j.params = "{}";
  j.created_at = kNow;
  ASSERT_TRUE(a->insert_job(j).ok());
  JobRecord done = j;
  done.status = JobStatus::failed;
  auto moved = a->transition_job({done, JobStatus::queued, std::nullopt, std::nullopt});
  ASSERT_TRUE(moved.ok() && moved->applied);
  std::vector<std::string> seen;
  for (int i = 0; i < 20 && seen.empty(); i++) seen = b->job_changes(100);
  EXPECT_EQ(seen, std::vector<std::string>{"job_1"});
}

// Balances come from memory: this instance's own writes are seen at once; another instance's, and
// SQL by hand (the trigger covers every writer), as soon as their NOTIFY arrives — well before the
// cache's 1 s bound, which alone would take a full second after a read was kept.
TEST_F(PostgresOnlyTest, BalancesComeFromMemoryAndOtherWritersAreSeenWhenTheirNotifyArrives) {
  auto a = store(2), b = store(2);
  ASSERT_TRUE(a && b);
  const int64_t user = funded(*a, 10);
  ASSERT_TRUE(user);
  EXPECT_EQ(b->balance(user)->settled, 10);
  const int64_t before = b->balances_from_memory();
  for (int i = 0; i < 100; i++) EXPECT_EQ(b->balance(user)->settled, 10);
  EXPECT_GE(b->balances_from_memory() - before, 99) << "repeated reads are answered from memory";
  ASSERT_TRUE(b->append({0, user, EntryKind::reserve, 3, "own-hold", "", kNow}).ok());
  EXPECT_EQ(b->balance(user)->reserved, 3) << "this instance's own write is seen at once";

  using ms = std::chrono::milliseconds;
  auto seen_after = [&](int64_t want) {  // how long until b reads `want`
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      auto got = b->balance(user);
      const auto took = std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() - start);
      if ((got.ok() && got->settled == want) || took > ms(3000)) return took;
      std::this_thread::sleep_for(ms(1));
    }
  };
  std::vector<ms> waits;
  for (int i = 1; i <= 9; i++) {
    ASSERT_EQ(b->balance(user)->settled, 9 + i) << "kept in memory before the write";
    if (i < 9)
      ASSERT_TRUE(a->append({0, user, EntryKind::grant, 1, "g" + std::to_string(i), "", kNow}).ok());
    else
      exec("UPDATE accounts SET settled = settled + 1 WHERE user_id = " + std::to_string(user));
    waits.push_back(seen_after(10 + i));
  }
  std::sort(waits.begin(), waits.end());
  EXPECT_LT(waits.back(), ms(BalanceCache::kMs + 500)) << "a write not seen within the cache's bound";
  EXPECT_LT(waits[waits.size() / 2], ms(250)) << "other writers' changes are not announced (only the 1 s bound works)";
}

TEST_F(PostgresOnlyTest, CallsRecoverAfterTheServerRestarts) {
  auto s = store(3);
  ASSERT_TRUE(s);
  const int64_t user = funded(*s, 100);
  ASSERT_TRUE(user);
  auto server = testing::shared_postgres();
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE((*server)->restart().ok());
  // Every pooled connection is now dead; each call notices, reconnects and succeeds.
  for (int i = 0; i < 6; i++) {
    auto b = s->balance(user);
    ASSERT_TRUE(b.ok()) << i << ": " << b.status().message;
    EXPECT_EQ(b->settled, 100);
  }
  auto held = s->append({0, user, EntryKind::reserve, 10, "hold-after-restart", "", kNow});
  ASSERT_TRUE(held.ok()) << held.status().message;
  auto again = s->create_user("b@example.com", kNow);
  EXPECT_TRUE(again.ok()) << again.status().message;
  EXPECT_EQ(s->balance(user)->reserved, 10);
}

}  // namespace
}  // namespace varg
