// The SSRF classifier: any 16 bytes as IPv6 and 4 as IPv4, with the embedded forms checked
// against the IPv4 verdict (mapped, NAT64 and 6to4 must agree with the address inside).
#include <cstdint>
#include <cstring>

#include "http/address.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 16) return 0;
  uint8_t v6[16];
  std::memcpy(v6, data, 16);
  (void)varg::public_ipv6(v6);
  const uint32_t v4 = uint32_t(data[0]) << 24 | uint32_t(data[1]) << 16 | uint32_t(data[2]) << 8 | data[3];
  const bool pub = varg::public_ipv4(v4);
  uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  std::memcpy(mapped + 12, data, 4);
  uint8_t nat64[16] = {0, 0x64, 0xff, 0x9b};
  std::memcpy(nat64 + 12, data, 4);
  uint8_t six_to_four[16] = {0x20, 0x02};
  std::memcpy(six_to_four + 2, data, 4);
  if (varg::public_ipv6(mapped) != pub || varg::public_ipv6(nat64) != pub || varg::public_ipv6(six_to_four) != pub)
    __builtin_trap();
  return 0;
}
