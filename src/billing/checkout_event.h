// What a signed payment event pays for (Stripe's checkout.session.completed and
// checkout.session.async_payment_succeeded), read without trusting its shape.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace varg {

struct CheckoutEvent {
  bool paid = false;        // a paid checkout session of ours: credit `package_id` to `user_id`
  std::string ignored;      // otherwise why it is ignored ("" for event types that need no action)
  std::string session_id;   // the checkout session: one credit per session, however many events name it
  std::string package_id;
  int64_t user_id = 0;
};

CheckoutEvent read_checkout_event(std::string_view body);

}  // namespace varg
