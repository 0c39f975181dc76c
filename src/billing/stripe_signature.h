// The payment provider's webhook signature (Stripe-Signature), checked before an event is read.
#pragma once
#include <cstdint>
#include <string>

namespace varg {

// "t=<unix>,v1=<hex HMAC-SHA256 of t.payload>" (several v1 allowed), within 5 minutes of `now`.
bool valid_signature(const std::string& header, const std::string& payload, const std::string& secret, int64_t now);

}  // namespace varg
