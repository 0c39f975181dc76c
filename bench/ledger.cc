// S4: ledger reserve+capture pairs per second on SQLite, the way a metered generation settles:
// append(reserve) then append(capture) naming it, each its own durable write (WAL,
// synchronous=FULL as vargd opens it; concurrent requesters are group-committed). Runs for a bounded time and a bounded number of pairs, then checks that the
// balance projection still equals the ledger sum. Prints one JSON line.
// With --database postgresql://... the same runs against PostgreSQL (its tables are shared: users
// get unique emails per run).
//   varg_bench_ledger --dir DIR | --database URL [--accounts N] [--threads T] [--seconds S] [--max-pairs P]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "store/open_store.h"
#include "store/sql_store.h"

using namespace varg;

int main(int argc, char** argv) {
  std::string dir = "/tmp", database;
  int accounts = 1, threads = 1;
  double seconds = 3;
  long max_pairs = 2000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--dir") dir = v;
    else if (a == "--database") database = v;
    else if (a == "--accounts") accounts = std::stoi(v);
    else if (a == "--threads") threads = std::stoi(v);
    else if (a == "--seconds") seconds = std::stod(v);
    else if (a == "--max-pairs") max_pairs = std::stol(v);
    else { std::fprintf(stderr, "unknown flag %s\n", a.c_str()); return 2; }
  }
  const std::string path =
      database.empty() ? dir + "/ledger-bench-" + std::to_string(accounts) + "-" + std::to_string(threads) + ".db" : database;
  if (database.empty())
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  auto opened = open_store(path, threads + 1, "");
  if (!opened.ok()) { std::fprintf(stderr, "open: %s\n", opened.status().message.c_str()); return 1; }
  Store& store = *opened->store;
  const std::string run = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());

  std::vector<int64_t> users;
  for (int i = 0; i < accounts; i++) {
    auto u = store.create_user("bench" + std::to_string(i) + "-" + run + "@example.com", 0);
    if (!u.ok()) { std::fprintf(stderr, "create_user: %s\n", u.status().message.c_str()); return 1; }
    LedgerEntry g{0, u->id, EntryKind::grant, int64_t(1) << 40, "grant-" + run + "-" + std::to_string(u->id), "bench", 0};
    if (!store.append(g).ok()) return 1;
    users.push_back(u->id);
  }

  std::atomic<long> pairs{0}, failures{0};
  std::atomic<bool> stop{false};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; t++)
    pool.emplace_back([&, t] {
      for (long i = 0; !stop; i++) {
        if (pairs.fetch_add(1) >= max_pairs) { stop = true; break; }
        const int64_t user = users[(size_t(i) * threads + t) % users.size()];
        const std::string id = run + "-" + std::to_string(t) + "-" + std::to_string(i);
        LedgerEntry r{0, user, EntryKind::reserve, 10, "res-" + id, "job-" + id, 0};
        LedgerEntry c{0, user, EntryKind::capture, 10, "cap-" + id, "res-" + id, 0};
        if (!store.append(r).ok() || !store.append(c).ok()) failures++;
        if ((i & 63) == 0 && std::chrono::steady_clock::now() - start > std::chrono::duration<double>(seconds)) stop = true;
      }
    });
  for (auto& th : pool) th.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long done = std::min(pairs.load(), max_pairs);

  bool consistent = true;
  for (int64_t u : users) {
    auto b = store.balance(u), s = store.ledger_sum(u);
    consistent = consistent && b.ok() && s.ok() && b->settled == s->settled && b->reserved == s->reserved && b->reserved == 0;
  }
  // Group commit at work: operations per committed transaction.
  const auto db = static_cast<SqlStore&>(store).db_counters();
  std::printf("{\"accounts\":%d,\"threads\":%d,\"pairs\":%ld,\"seconds\":%.3f,\"pairs_per_s\":%.0f,"
              "\"failures\":%ld,\"consistent\":%s,\"ops_per_commit\":%.1f,\"reruns\":%lld}\n",
              accounts, threads, done, elapsed, done / elapsed, failures.load(), consistent ? "true" : "false",
              db.commits ? double(db.operations) / double(db.commits) : 0.0, (long long)db.reruns);
  if (database.empty())
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return failures == 0 && consistent ? 0 : 1;
}
