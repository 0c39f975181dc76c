#include "billing/stripe_signature.h"

#include <cstdlib>
#include <vector>

#include "common/crypto.h"

namespace varg {

// Stripe-Signature: "t=<unix>,v1=<hex hmac of t.payload>" (several v1 allowed), 5 minutes tolerance.
bool valid_signature(const std::string& header, const std::string& payload, const std::string& secret, int64_t now) {
  std::string t;
  std::vector<std::string> sigs;
  size_t i = 0;
  while (i < header.size()) {
    size_t j = header.find(',', i);
    if (j == std::string::npos) j = header.size();
    std::string part = header.substr(i, j - i);
    if (part.starts_with("t=")) t = part.substr(2);
    if (part.starts_with("v1=")) sigs.push_back(part.substr(3));
    i = j + 1;
  }
  if (t.empty() || t.size() > 12 || t.find_first_not_of("0123456789") != std::string::npos) return false;
  if (std::llabs(now - std::stoll(t)) > 300) return false;
  const std::string expected = to_hex(hmac_sha256(secret, t + "." + payload));
  for (auto& s : sigs)
    if (constant_time_equal(s, expected)) return true;
  return false;
}

}  // namespace varg
