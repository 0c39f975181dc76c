// Issuing API keys: the one place a key is generated, hashed and stored, and the no-escalation rule
// (a key never creates a key with more rights or a longer life than its own).
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "auth/api_key.h"
#include "auth/authenticator.h"
#include "store/store.h"

namespace varg {

struct KeyRequest {
  int64_t user_id = 0;
  std::string name;
  std::optional<Permissions> permissions;  // nullopt: full rights
  std::optional<int64_t> expires_at;
};

struct IssuedKey {
  ApiKeyRecord record;
  std::string key;  // the plaintext, shown once
};

ApiKeyRecord new_key_record(const SecretHasher& hasher, const KeyRequest& req, const std::string& key, int64_t now);
Result<IssuedKey> issue_key(Store& store, const SecretHasher& hasher, const KeyRequest& req, int64_t now);
// Revokes the caller's key and issues its replacement (same name, rights and expiry) atomically.
Result<IssuedKey> rotate_key(Store& store, const SecretHasher& hasher, const ApiKeyRecord& old, int64_t now);

// 403 when `creator` may not create `req`.
Status check_no_escalation(const Principal& creator, const KeyRequest& req);

// Parses the {"name", "expires_in", "permissions"} body shared by /api/keys and /api/v0/auth/apikeys.
Result<KeyRequest> parse_key_request(const nlohmann::json& body, int64_t user_id, int64_t now, bool name_required);

}  // namespace varg
