#include "auth/api_key.h"

#include "common/crypto.h"

namespace varg {

std::string ApiKey::generate() {
  std::string random = random_base62(kRandomLen);
  return std::string(kPrefix) + random + base62_fixed(crc32(random), kChecksumLen);
}

bool ApiKey::well_formed(std::string_view key) {
  if (key.size() != kLength || key.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string_view body = key.substr(kPrefix.size());
  if (!is_base62(body)) return false;
  std::string_view random = body.substr(0, kRandomLen), check = body.substr(kRandomLen);
  return base62_fixed(crc32(random), kChecksumLen) == check;
}

std::string ApiKey::display_prefix(std::string_view key) { return std::string(key.substr(0, kPrefix.size() + 4)); }

std::string AccessToken::generate() { return std::string(kPrefix) + random_base62(40); }

bool AccessToken::well_formed(std::string_view t) {
  return t.size() == kPrefix.size() + 40 && t.substr(0, kPrefix.size()) == kPrefix && is_base62(t.substr(kPrefix.size()));
}

std::string SecretHasher::hash(std::string_view secret) const { return to_hex(hmac_(secret)); }

}  // namespace varg
