// API key format (SPEC 2): "varg_" + 32 random base62 + 6 base62 of CRC32(random part) = 43 chars.
// Shape and checksum are verified before any store access; only a peppered hash is ever stored.
#pragma once
#include <string>
#include <string_view>

#include "common/crypto.h"

namespace varg {

struct ApiKey {
  static constexpr std::string_view kPrefix = "varg_";
  static constexpr size_t kRandomLen = 32, kChecksumLen = 6;
  static constexpr size_t kLength = 5 + kRandomLen + kChecksumLen;

  static std::string generate();
  // True when `key` has the exact shape and a matching checksum.
  static bool well_formed(std::string_view key);
  // What listings show: "varg_" + the first 4 random characters.
  static std::string display_prefix(std::string_view key);
};

// Access tokens for sessions (dashboard, CLI login): "vat_" + 40 random base62.
struct AccessToken {
  static constexpr std::string_view kPrefix = "vat_";
  static std::string generate();
  static bool well_formed(std::string_view token);
};

// Keyed hash of a secret under the server pepper, as lowercase hex. Used for keys, tokens and codes.
class SecretHasher {
 public:
  explicit SecretHasher(std::string_view pepper) : hmac_(pepper) {}
  std::string hash(std::string_view secret) const;

 private:
  HmacSha256 hmac_;
};

}  // namespace varg
