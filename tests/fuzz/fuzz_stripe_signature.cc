// The Stripe-Signature parser: the header is the input; payload and secret are fixed.
#include <cstdint>
#include <string>

#include "billing/stripe_signature.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string header(reinterpret_cast<const char*>(data), size);
  (void)varg::valid_signature(header, "{\"id\":\"evt_1\"}", "whsec_fuzz", 1'800'000'000);
  return 0;
}
