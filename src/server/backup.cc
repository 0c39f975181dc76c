#include "server/backup.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/crypto.h"

namespace varg {

namespace fs = std::filesystem;

namespace {

int fail(const std::string& msg) {
  std::cerr << "vargd admin: " << msg << "\n";
  return 1;
}

bool is_hash(const std::string& name) {
  return name.size() == 64 && name.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string blob_path(const std::string& dir, const std::string& hash) {
  return dir + "/" + hash.substr(0, 2) + "/" + hash.substr(2, 2) + "/" + hash;
}

// Every blob file under dir by hash, and the temp files a crash left mid-write.
std::set<std::string> blobs_in(const std::string& dir, int64_t* partial) {
  std::set<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    if (is_hash(name)) out.insert(name);
    else if (partial && name.find(".tmp-") != std::string::npos) ++*partial;
  }
  return out;
}

// Hard link (blobs never change once written), else a copy; false when neither worked.
bool place(const std::string& from, const std::string& to) {
  std::error_code ec;
  if (fs::exists(to, ec)) return true;
  fs::create_directories(fs::path(to).parent_path(), ec);
  fs::create_hard_link(from, to, ec);
  if (!ec) return true;
  const std::string tmp = to + ".tmp-" + random_base62(8);
  if (!fs::copy_file(from, tmp, ec) || std::rename(tmp.c_str(), to.c_str()) != 0) {
    fs::remove(tmp, ec);
    return false;
  }
  return true;
}

// The blobs of `hashes` from src into dst; how many could not be placed.
int64_t copy_blobs(const std::string& src, const std::string& dst, const std::set<std::string>& hashes) {
  int64_t missing = 0;
  for (auto& h : hashes)
    if (!place(blob_path(src, h), blob_path(dst, h))) missing++;
  return missing;
}

std::string file_sha256_hex(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  std::string buf(1 << 20, '\0');
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(buf.data()), size_t(in.gcount()));
  }
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, out);
  return to_hex(std::string(reinterpret_cast<char*>(out), sizeof out));
}

}  // namespace

int lock_data_dir(const std::string& data_dir, bool exclusive) {
  const std::string path = data_dir + "/vargd.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  if (::flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int admin_backup(Store& store, const Config& cfg, const std::string& dest) {
  std::error_code ec;
  if (dest.empty()) return fail("backup needs a destination directory: vargd admin backup PATH");
  if (fs::exists(dest, ec)) return fail(dest + " exists already; a backup goes into a new directory");
  const std::string work = dest + ".partial-" + random_base62(6);
  fs::create_directories(work, ec);
  if (ec) return fail("cannot create " + work + ": " + ec.message());
  auto abandon = [&](const std::string& why) {
    fs::remove_all(work, ec);
    return fail(why);
  };
  // The database first: every file record in the copy had its blob written before its row
  // committed, so the blobs on disk now cover it (later ones are merely extra).
  if (Status st = store.backup(work + "/varg.db"); !st.ok()) return abandon(st.message);
  auto audit = store.audit();
  if (!audit.ok()) return abandon(audit.status().message);
  const std::set<std::string> hashes(audit->file_hashes.begin(), audit->file_hashes.end());
  const int64_t missing = copy_blobs(cfg.data_dir + "/blobs", work + "/blobs", hashes);
  if (missing > 0) return abandon(std::to_string(missing) + " result files named by the database are missing from " +
                                  cfg.data_dir + "/blobs; run vargd admin verify");
  const std::string secret = cfg.data_dir + "/server.secret";
  if (fs::exists(secret, ec) && !fs::copy_file(secret, work + "/server.secret", ec)) return abandon("cannot copy " + secret);
  const SystemClock clock;
  nlohmann::json manifest = {{"created_at", iso8601(clock.now())},
                             {"database_sha256", file_sha256_hex(work + "/varg.db")},
                             {"accounts", audit->accounts},
                             {"ledger_entries", audit->entries},
                             {"jobs", audit->jobs},
                             {"files", int64_t(hashes.size())},
                             {"server_secret", fs::exists(work + "/server.secret", ec)}};
  if (!write_file_atomically(work + "/backup.json", manifest.dump(2) + "\n", 0600).ok()) return abandon("cannot write backup.json");
  fs::permissions(work, fs::perms::owner_all, ec);  // the secret and every account are in it
  fs::rename(work, dest, ec);
  if (ec) return abandon("cannot move the backup into place: " + ec.message());
  std::cout << "Backup written to " << dest << ": " << audit->accounts << " accounts, " << audit->entries
            << " ledger entries, " << audit->jobs << " jobs, " << hashes.size() << " files"
            << (manifest["server_secret"].get<bool>() ? ", the server secret" : " (the secret is your --secret setting)")
            << ".\n";
  if (!audit->problems.empty())
    std::cout << "The database had " << audit->problems.size() << " problems when copied: run vargd admin verify.\n";
  return 0;
}

int admin_restore(const Config& cfg, const std::string& from) {
  std::error_code ec;
  if (from.empty()) return fail("restore needs a backup directory: vargd admin restore PATH --data-dir DIR");
  if (!cfg.database.empty() && cfg.database.find("://") != std::string::npos)
    return fail("restore writes a SQLite data directory; restore PostgreSQL with pg_restore (docs/operations.md)");
  if (!fs::exists(from + "/backup.json", ec) || !fs::exists(from + "/varg.db", ec))
    return fail(from + " is not a vargd backup (no backup.json and varg.db)");
  std::ifstream mf(from + "/backup.json");
  auto manifest = nlohmann::json::parse(mf, nullptr, false);
  if (!manifest.is_object() || file_sha256_hex(from + "/varg.db") != manifest.value("database_sha256", ""))
    return fail(from + "/varg.db does not match its backup.json: the backup is damaged");
  fs::create_directories(cfg.data_dir, ec);
  const int lock = lock_data_dir(cfg.data_dir, true);
  if (lock < 0) return fail("a vargd is serving " + cfg.data_dir + "; stop it before restoring");
  const std::string db = cfg.database_path();
  const std::string stamp = std::to_string(SystemClock().now());
  // What is there now is moved aside, never deleted: the database with its WAL, and the secret.
  const std::string tmp = db + ".restoring";
  fs::remove(tmp, ec);
  if (!fs::copy_file(from + "/varg.db", tmp, ec)) return fail("cannot copy the database: " + ec.message());
  for (const char* suffix : {"", "-wal", "-shm"})
    if (fs::exists(db + suffix, ec)) fs::rename(db + suffix, db + ".before-restore-" + stamp + suffix, ec);
  fs::remove(db + "-changes", ec);
  fs::rename(tmp, db, ec);
  if (ec) return fail("cannot move the restored database into place: " + ec.message());
  const std::string secret = cfg.data_dir + "/server.secret";
  if (fs::exists(from + "/server.secret", ec)) {
    if (fs::exists(secret, ec)) fs::rename(secret, secret + ".before-restore-" + stamp, ec);
    if (!fs::copy_file(from + "/server.secret", secret, ec)) return fail("cannot restore the server secret");
  }
  int64_t partial = 0;
  const int64_t missing = copy_blobs(from + "/blobs", cfg.data_dir + "/blobs", blobs_in(from + "/blobs", &partial));
  ::close(lock);
  if (missing > 0) return fail(std::to_string(missing) + " files of the backup could not be restored");
  std::cout << "Restored " << from << " (taken " << manifest.value("created_at", "?") << ") into " << cfg.data_dir
            << "; the previous database is kept as " << db << ".before-restore-" << stamp
            << ". Check it with: vargd admin verify --data-dir " << cfg.data_dir << "\n";
  return 0;
}

int admin_verify(Store& store, const Config& cfg) {
  auto audit = store.audit();
  if (!audit.ok()) return fail(audit.status().message);
  std::vector<std::string> problems = audit->problems;
  const std::string dir = cfg.data_dir + "/blobs";
  int64_t partial = 0;
  const std::set<std::string> on_disk = blobs_in(dir, &partial);
  std::set<std::string> named;
  for (auto& h : audit->file_hashes) {
    named.insert(h);
    if (!on_disk.count(h)) problems.push_back("file " + h + ": named by the database, missing from " + dir);
    else if (file_sha256_hex(blob_path(dir, h)) != h) problems.push_back("file " + h + ": its bytes do not match their hash");
  }
  int64_t orphans = 0;
  for (auto& h : on_disk) orphans += named.count(h) ? 0 : 1;
  std::cout << audit->accounts << " accounts, " << audit->entries << " ledger entries, " << audit->jobs << " jobs, "
            << audit->holds << " open reservations, " << named.size() << " files checked.\n";
  if (orphans > 0 || partial > 0)
    std::cout << orphans << " blobs without a file record and " << partial
              << " partial writes (harmless: left by failed or interrupted writes; not served).\n";
  for (auto& p : problems) std::cout << "PROBLEM: " << p << "\n";
  if (!problems.empty()) return fail(std::to_string(problems.size()) + " problems found");
  std::cout << "OK: every balance is the sum of its ledger, every reservation has its live job, every file is intact.\n";
  return 0;
}

}  // namespace varg
