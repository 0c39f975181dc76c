#include "billing/payments.h"

#include <nlohmann/json.hpp>

#include "billing/checkout_event.h"
#include "billing/stripe_signature.h"
#include "common/json.h"
#include "http/client.h"

namespace varg::billing {

const std::vector<Package>& packages() {
  static const std::vector<Package> all = {
      {"credits-2000", "Starter", 2000, 2000},     {"credits-5000", "Basic", 5000, 5000},
      {"credits-10000", "Popular", 10000, 10000},  {"credits-20000", "Pro", 20000, 20000},
      {"credits-50000", "Business", 50000, 50000}, {"credits-100000", "Enterprise", 100000, 100000},
  };
  return all;
}

const Package* find_package(const std::string& id) {
  for (auto& p : packages())
    if (id == p.id) return &p;
  return nullptr;
}

namespace {
std::string form_escape(const std::string& v) {
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(char(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}
}  // namespace

Result<Payments::Checkout> Payments::checkout(int64_t user_id, const std::string& package_id) {
  const Package* p = find_package(package_id);
  if (!p) return error(Code::invalid, "Unknown package '" + package_id + "'; GET /api/billing/packages lists them", "packageId");
  if (settings_.secret_key.empty())
    return error(Code::unavailable, "Payments are not configured on this gateway; ask the operator to add "
                                    "credits with `vargd admin grant`");
  const std::string& back = settings_.return_url;
  const std::string form = "mode=payment&client_reference_id=" + std::to_string(user_id) +
                           "&success_url=" + form_escape(back + "&checkout=success") +
                           "&cancel_url=" + form_escape(back + "&checkout=cancelled") +
                           "&line_items[0][quantity]=1&line_items[0][price_data][currency]=usd" +
                           "&line_items[0][price_data][unit_amount]=" + std::to_string(p->price_cents) +
                           "&line_items[0][price_data][product_data][name]=" +
                           form_escape(std::string("varg ") + p->name + " - " + std::to_string(p->credits) + " credits") +
                           "&metadata[user_id]=" + std::to_string(user_id) + "&metadata[package_id]=" + p->id;
  HttpCall call{"POST", settings_.stripe_url + "/v1/checkout/sessions",
                {{"Authorization", "Bearer " + settings_.secret_key}, {"Content-Type", "application/x-www-form-urlencoded"}},
                form, 20000, 1 << 20, true};
  auto r = http_call(call);
  if (!r.ok() || r->status != 200) {
    Status st = error(Code::provider_error, "The payment provider did not create a checkout session");
    st.provider = "stripe";
    return st;
  }
  auto session = parse_untrusted(r->body);
  if (!session.ok() || !session->is_object() || !session->contains("url") || !(*session)["url"].is_string())
    return error(Code::provider_error, "The payment provider answered without a checkout URL");
  return Checkout{(*session)["url"].get<std::string>(), session->value("id", "")};
}

Result<std::string> Payments::on_event(const std::string& signature_header, const std::string& body) {
  if (settings_.webhook_secret.empty()) return error(Code::unavailable, "Payments are not configured");
  if (!valid_signature(signature_header, body, settings_.webhook_secret, clock_.now()))
    return error(Code::invalid, "Invalid Stripe-Signature");
  // From here the event is the payment provider's own: anything we cannot use is answered 200
  // (and logged by the caller), or the provider would retry it for days.
  const CheckoutEvent ev = read_checkout_event(body);
  if (!ev.paid) return ev.ignored;
  const Package* p = find_package(ev.package_id);
  if (!p) return std::string("the session names no package of ours");
  auto user = store_.user_by_id(ev.user_id);
  if (!user.ok()) return user.status().code == Code::not_found ? Result<std::string>(std::string("no such account")) : user.status();
  auto e = ledger_.purchase(user->id, p->credits, ev.session_id);
  if (!e.ok()) return e.status();
  return std::string();
}

}  // namespace varg::billing
