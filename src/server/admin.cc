#include "server/admin.h"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "auth/keys.h"
#include "auth/login.h"
#include "billing/ledger.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "server/backup.h"
#include "server/secret.h"
#include "store/open_store.h"

namespace varg {

namespace {

const char* kAdminHelp =
    "usage: vargd admin <command> [options] [settings such as --data-dir]\n\n"
    "  create-user --email E [--credits N]        create an account; prints its first API key once\n"
    "  grant --email E --credits N [--reason R]   add credits (a ledger entry)\n"
    "  list-users                                 every account with its balance\n"
    "  list-keys --email E                        an account's live keys (never the keys themselves)\n"
    "  revoke-key ID                              revoke a key on every instance\n"
    "  backup PATH                                an online copy of the data (SQLite) into a new directory\n"
    "  restore PATH                               a backup back into --data-dir (vargd stopped)\n"
    "  verify                                     check the ledger, reservations and files; exit 1 on a problem\n";

int fail(const std::string& msg) {
  std::cerr << "vargd admin: " << msg << "\n";
  return 1;
}

bool parse_credits(const std::map<std::string, std::string>& o, int64_t* out, bool required) {
  auto it = o.find("credits");
  if (it == o.end()) {
    *out = 0;
    return !required;
  }
  const std::string& v = it->second;
  if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos) return false;
  *out = std::stoll(v);
  return true;
}

}  // namespace

int run_admin(const ParsedArgs& args) {
  if (args.help || args.positional.size() < 2) {
    std::cout << kAdminHelp;
    return args.help ? 0 : 2;
  }
  const std::string cmd = args.positional[1];
  const auto& o = args.extra;
  const Config& cfg = args.config;
  auto path_arg = [&] { return args.positional.size() > 2 ? args.positional[2] : std::string(); };
  if (cmd == "restore") return admin_restore(cfg, path_arg());  // before anything opens the database
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  auto store = open_store(cfg.database_path(), 1, cfg.secret);
  if (!store.ok()) return fail(store.status().message);
  auto secret = load_secret(store->secret_hex, cfg.data_dir);
  if (!secret.ok()) return fail(secret.status().message);
  SecretHasher hasher(secret->pepper);
  SystemClock clock;
  Store& s = *store->store;

  auto email_opt = [&]() -> std::string {
    auto it = o.find("email");
    return it == o.end() ? "" : normalize_email(it->second);
  };

  if (cmd == "create-user") {
    std::string email = email_opt();
    if (email.empty()) return fail("create-user needs --email with a valid address");
    int64_t credits;
    if (!parse_credits(o, &credits, false)) return fail("--credits must be a non-negative integer");
    auto u = s.create_user(email, clock.now());
    if (!u.ok()) return fail(u.status().message + " (" + email + ")");
    if (credits > 0) {
      auto e = billing::Ledger(s, clock).signup_grant(u->id, credits);
      if (!e.ok()) return fail(e.status().message);
    }
    auto k = issue_key(s, hasher, KeyRequest{u->id, "admin create-user", std::nullopt, std::nullopt}, clock.now());
    if (!k.ok()) return fail(k.status().message);
    std::cout << "Created user " << email << " (id " << u->id << ") with " << credits << " credits.\n"
              << "API key (shown once, copy it now):\n\n  " << k->key << "\n\n"
              << "Use it as: Authorization: Bearer <key>\n";
    return 0;
  }
  if (cmd == "grant") {
    std::string email = email_opt();
    if (email.empty()) return fail("grant needs --email with a valid address");
    int64_t credits;
    if (!parse_credits(o, &credits, true) || credits <= 0) return fail("grant needs --credits N with N > 0");
    auto u = s.user_by_email(email);
    if (!u.ok()) return fail("no user with email " + email);
    std::string reason = o.count("reason") ? o.at("reason") : "admin grant";
    auto e = billing::Ledger(s, clock).grant(u->id, credits, reason);
    if (!e.ok()) return fail(e.status().message);
    auto b = s.balance(u->id);
    std::cout << "Granted " << credits << " credits to " << email << "; balance now "
              << (b.ok() ? b->available() : 0) << " credits (ledger entry " << e->id << ").\n";
    return 0;
  }
  if (cmd == "list-users") {
    auto users = s.list_users();
    if (!users.ok()) return fail(users.status().message);
    std::printf("%-8s %-40s %14s %14s %s\n", "ID", "EMAIL", "BALANCE", "RESERVED", "CREATED");
    for (auto& u : *users) {
      auto b = s.balance(u.id);
      std::printf("%-8lld %-40s %14lld %14lld %s\n", (long long)u.id, u.email.c_str(),
                  (long long)(b.ok() ? b->available() : 0), (long long)(b.ok() ? b->reserved : 0), iso8601(u.created_at).c_str());
    }
    return 0;
  }
  if (cmd == "list-keys") {
    std::string email = email_opt();
    if (email.empty()) return fail("list-keys needs --email with a valid address");
    auto u = s.user_by_email(email);
    if (!u.ok()) return fail("no user with email " + email);
    auto keys = s.keys_of(u->id);
    if (!keys.ok()) return fail(keys.status().message);
    std::printf("%-8s %-24s %-14s %-21s %-21s %s\n", "ID", "NAME", "PREFIX", "CREATED", "EXPIRES", "SCOPE");
    for (auto& k : *keys)
      std::printf("%-8lld %-24s %-14s %-21s %-21s %s\n", (long long)k.id, k.name.c_str(), (k.prefix + "...").c_str(),
                  iso8601(k.created_at).c_str(), k.expires_at ? iso8601(*k.expires_at).c_str() : "never",
                  k.permissions ? "scoped" : "full");
    return 0;
  }
  if (cmd == "backup") return admin_backup(s, cfg, path_arg());
  if (cmd == "verify") return admin_verify(s, cfg);
  if (cmd == "revoke-key") {
    if (args.positional.size() < 3) return fail("revoke-key needs a key ID");
    const std::string& id = args.positional[2];
    if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos)
      return fail("key ID must be a number, got '" + id + "'");
    Status st = s.revoke_key(std::stoll(id), 0, clock.now());
    if (!st.ok()) return fail(st.message + " (id " + id + ")");
    std::cout << "Revoked key " << id << "; it stops working on every instance within 1 second.\n";
    return 0;
  }
  std::cerr << kAdminHelp;
  return fail("unknown command '" + cmd + "'");
}

}  // namespace varg
