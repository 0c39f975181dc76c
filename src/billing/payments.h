// Buying credits through a payment provider that speaks the Stripe Checkout API: the packages on
// sale, a checkout session per purchase, and the signed webhook event that credits it — exactly
// once per session, however many events and deliveries name it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "billing/ledger.h"
#include "common/clock.h"
#include "store/store.h"

namespace varg::billing {

struct Package {
  const char* id;
  const char* name;
  int64_t credits;
  int64_t price_cents;
};
const std::vector<Package>& packages();  // the seed's six, ids credits-2000 … credits-100000
const Package* find_package(const std::string& id);

class Payments {
 public:
  struct Settings {
    std::string stripe_url = "https://api.stripe.com";
    std::string secret_key, webhook_secret;  // empty: payments are not configured (503)
    std::string return_url;                  // where the provider sends the buyer back
  };
  Payments(Store& store, const Clock& clock, Settings settings)
      : store_(store), clock_(clock), ledger_(store, clock), settings_(std::move(settings)) {}

  struct Checkout {
    std::string url, id;
  };
  // A checkout session for one package bought by `user_id`.
  Result<Checkout> checkout(int64_t user_id, const std::string& package_id);
  // A webhook delivery: verified by its Stripe-Signature (invalid), then credited once. Returns ""
  // when credited (or credited already), otherwise why the event was ignored; a Status only when
  // it must be delivered again (a store failure) or was never the provider's.
  Result<std::string> on_event(const std::string& signature_header, const std::string& body);

 private:
  Store& store_;
  const Clock& clock_;
  Ledger ledger_;
  Settings settings_;
};

}  // namespace varg::billing
