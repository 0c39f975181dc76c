// Turns a bearer credential into a Principal. API keys are checked for shape first (no store access
// for garbage), then looked up by peppered hash; verified keys are cached for at most kCacheMs so a
// revocation on any instance takes effect within a second. Every failure is the same 401.
#pragma once
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "auth/api_key.h"
#include "auth/permissions.h"
#include "common/clock.h"
#include "store/store.h"

namespace varg {

struct Principal {
  int64_t user_id = 0;
  int64_t key_id = 0;  // 0 when authenticated by a session token
  bool session = false;
  std::optional<int64_t> expires_at;          // the credential's own expiry
  std::shared_ptr<const Permissions> permissions;  // null: full rights of the user
};

class Authenticator {
 public:
  static constexpr int64_t kCacheMs = 500;
  static constexpr const char* kInvalid = "Invalid or missing API key";

  Authenticator(Store& store, const Clock& clock, const SecretHasher& hasher)
      : store_(store), clock_(clock), hasher_(hasher) {}

  // The peppered hash of a well-formed API key, "" for anything else: the pipeline computes it
  // once per request and passes it to cached() and api_key_by_hash().
  std::string key_hash(std::string_view key) const;
  Result<Principal> api_key(std::string_view key) { return api_key_by_hash(key_hash(key)); }
  Result<Principal> api_key_by_hash(const std::string& hash);
  Result<Principal> session(std::string_view token);
  // True when api_key_by_hash(hash) would be answered from the cache, without touching the store.
  bool cached(const std::string& hash);
  // Drops a key from this process's cache at once (revocation on this instance).
  void forget(int64_t key_id);

 private:
  struct Cached {
    Principal principal;
    int64_t fetched_ms = 0;
    int64_t last_used_at = 0;
  };
  Result<Cached> load(const std::string& hash);

  Store& store_;
  const Clock& clock_;
  const SecretHasher& hasher_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;  // by key hash
};

}  // namespace varg
