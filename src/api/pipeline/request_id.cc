#include "api/pipeline/request_id.h"

#include <cctype>
#include <cstring>

#include "common/crypto.h"

namespace varg {

std::string new_request_id() {
  thread_local uint64_t state = [] {
    uint64_t seed;
    std::string raw = random_bytes(sizeof seed);
    std::memcpy(&seed, raw.data(), sizeof seed);
    return seed;
  }();
  std::string id = "req_";
  for (int word = 0; word < 2; word++) {
    state += 0x9E3779B97F4A7C15ull;  // splitmix64
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    for (int i = 0; i < 10; i++, z /= 62) id.push_back(kBase62[z % 62]);
  }
  return id;
}

std::string request_id_of(const Request& req) {
  std::string_view given = req.header("x-request-id");
  bool sane = !given.empty() && given.size() <= 128;
  for (char c : given)
    sane = sane && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':');
  return sane ? std::string(given) : new_request_id();
}

}  // namespace varg
