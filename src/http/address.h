// SSRF defense: whether an outgoing connection may go to an address. Everything that is not a
// globally routable unicast address is refused: private, loopback, link-local, CGNAT,
// benchmarking, documentation, reserved and multicast ranges, in IPv4 and IPv6, including IPv4
// addresses written inside IPv6 (mapped, IPv4-compatible, NAT64, 6to4; Teredo is refused whole).
#pragma once
#include <cstdint>
#include <sys/socket.h>

namespace varg {

bool public_ipv4(uint32_t host_order);
bool public_ipv6(const uint8_t bytes[16]);
// AF_INET or AF_INET6; any other family is not public.
bool public_address(const sockaddr* sa);

}  // namespace varg
