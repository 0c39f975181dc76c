// The API key and access token parsers: shape and checksum, before any store access.
#include <cstdint>
#include <string_view>

#include "auth/api_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s(reinterpret_cast<const char*>(data), size);
  if (varg::ApiKey::well_formed(s)) {
    if (s.size() != varg::ApiKey::kLength || !s.starts_with(varg::ApiKey::kPrefix)) __builtin_trap();
    (void)varg::ApiKey::display_prefix(s);
  }
  (void)varg::AccessToken::well_formed(s);
  return 0;
}
