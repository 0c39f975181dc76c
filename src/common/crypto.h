// Cryptographic and encoding primitives over libsodium: CSPRNG, base62, base64, CRC32, SHA-256, HMAC,
// constant-time comparison and AEAD sealing. Everything secret-bearing in varg goes through here.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace varg {

void crypto_init();  // once at start-up; safe to call again

std::string random_bytes(size_t n);
std::string random_base62(size_t n);  // uniform over the alphabet (rejection sampling)
std::string random_digits(size_t n);  // uniform decimal digits, for one-time codes

extern const char kBase62[];  // 0-9A-Za-z
bool is_base62(std::string_view s);
std::string base62_fixed(uint64_t v, size_t width);  // big-endian digits, zero ('0') padded

uint32_t crc32(std::string_view data);

std::string sha256(std::string_view data);                              // 32 raw bytes
std::string hmac_sha256(std::string_view key, std::string_view data);  // 32 raw bytes
// HMAC-SHA256 under one key whose padded blocks are hashed once: each message then costs two
// SHA-256 compressions fewer than hmac_sha256 (the per-request key hash).
class HmacSha256 {
 public:
  explicit HmacSha256(std::string_view key);
  ~HmacSha256();  // wipes the keyed state
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;
  std::string operator()(std::string_view data) const;  // 32 raw bytes, as hmac_sha256(key, data)

 private:
  alignas(16) unsigned char keyed_[208];  // a crypto_auth_hmacsha256_state after init
};
std::string to_hex(std::string_view raw);
std::optional<std::string> from_hex(std::string_view hex);
std::string to_base64(std::string_view raw);  // standard alphabet, padded (RFC 4648 section 4)
std::optional<std::string> from_base64(std::string_view text);

bool constant_time_equal(std::string_view a, std::string_view b);

// Authenticated encryption (XChaCha20-Poly1305); the key is 32 bytes. Output: nonce || ciphertext.
std::string aead_seal(std::string_view key, std::string_view plaintext, std::string_view ad);
std::optional<std::string> aead_open(std::string_view key, std::string_view sealed, std::string_view ad);

}  // namespace varg
