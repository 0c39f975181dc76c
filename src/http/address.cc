#include "http/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>

namespace varg {

namespace {

struct Net4 {
  uint32_t base;
  int bits;
};

constexpr uint32_t ip4(int a, int b, int c, int d) { return uint32_t(a) << 24 | uint32_t(b) << 16 | uint32_t(c) << 8 | uint32_t(d); }

// IANA's IPv4 special-purpose registry: nothing here is reachable as the public internet.
constexpr Net4 kRefused4[] = {
    {ip4(0, 0, 0, 0), 8},        {ip4(10, 0, 0, 0), 8},      {ip4(100, 64, 0, 0), 10},   {ip4(127, 0, 0, 0), 8},
    {ip4(169, 254, 0, 0), 16},   {ip4(172, 16, 0, 0), 12},   {ip4(192, 0, 0, 0), 24},    {ip4(192, 0, 2, 0), 24},
    {ip4(192, 31, 196, 0), 24},  {ip4(192, 52, 193, 0), 24}, {ip4(192, 88, 99, 0), 24},  {ip4(192, 168, 0, 0), 16},
    {ip4(192, 175, 48, 0), 24},  {ip4(198, 18, 0, 0), 15},   {ip4(198, 51, 100, 0), 24}, {ip4(203, 0, 113, 0), 24},
    {ip4(224, 0, 0, 0), 4},      {ip4(240, 0, 0, 0), 4},
};

bool in(uint32_t a, const Net4& n) { return n.bits == 0 || (a >> (32 - n.bits)) == (n.base >> (32 - n.bits)); }

uint32_t v4_at(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

bool prefix(const uint8_t* b, std::initializer_list<uint8_t> p, int bits) {
  int i = 0;
  for (uint8_t byte : p) {
    const int take = std::min(8, bits - 8 * i);
    if (take <= 0) break;
    const uint8_t mask = uint8_t(0xff << (8 - take));
    if ((b[i] & mask) != (byte & mask)) return false;
    i++;
  }
  return true;
}

}  // namespace

bool public_ipv4(uint32_t a) {
  for (const Net4& n : kRefused4)
    if (in(a, n)) return false;
  return true;
}

bool public_ipv6(const uint8_t b[16]) {
  static const uint8_t zero12[12] = {};
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const uint8_t translated[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};  // ::ffff:0:a.b.c.d (SIIT)
  static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  // IPv4 written inside IPv6: the IPv4 address decides.
  if (!std::memcmp(b, mapped, 12) || !std::memcmp(b, translated, 12) || !std::memcmp(b, nat64, 12))
    return public_ipv4(v4_at(b + 12));
  if (prefix(b, {0x20, 0x02}, 16)) return public_ipv4(v4_at(b + 2));  // 6to4
  if (!std::memcmp(b, zero12, 12)) return false;  // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
  if ((b[0] & 0xe0) != 0x20) return false;  // only 2000::/3 is global unicast (multicast, ULA, link-local, ... out)
  if (prefix(b, {0x20, 0x01, 0x00, 0x00}, 23)) return false;          // IETF protocol assignments: Teredo, ORCHID, ...
  if (prefix(b, {0x20, 0x01, 0x0d, 0xb8}, 32)) return false;          // documentation
  if (prefix(b, {0x3f, 0xff}, 20)) return false;                      // documentation (RFC 9637)
  return true;
}

bool public_address(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) return public_ipv4(ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr));
  if (sa->sa_family == AF_INET6) return public_ipv6(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr.s6_addr);
  return false;
}

}  // namespace varg
