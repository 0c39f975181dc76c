#include "billing/checkout_event.h"

#include <nlohmann/json.hpp>

#include "common/json.h"

namespace varg {

CheckoutEvent read_checkout_event(std::string_view body) {
  CheckoutEvent out;
  auto ignore = [&](const char* why) {
    out.ignored = why;
    return out;
  };
  auto parsed = parse_untrusted(body);
  if (!parsed.ok() || !parsed->is_object()) return ignore("not a JSON event");
  const json& ev = *parsed;
  const std::string type = ev.value("type", json()).is_string() ? ev["type"].get<std::string>() : "";
  if (type.empty()) return ignore("an event without a type");
  if (type != "checkout.session.completed" && type != "checkout.session.async_payment_succeeded") return out;  // nothing to do
  const json data = ev.value("data", json());
  const json obj = data.is_object() ? data.value("object", json()) : json();
  if (!obj.is_object() || !obj.value("id", json()).is_string()) return ignore("an event without its checkout session");
  // completed fires for delayed payment methods too, before the money arrives; async_payment_succeeded then says it did.
  if (obj.value("payment_status", json()) != "paid") return ignore("the session is not paid");
  const json meta = obj.value("metadata", json());
  const std::string package = meta.is_object() && meta.value("package_id", json()).is_string() ? meta["package_id"].get<std::string>() : "";
  const std::string uid = meta.is_object() && meta.value("user_id", json()).is_string() ? meta["user_id"].get<std::string>() : "";
  if (package.empty() || uid.empty() || uid.size() > 18 || uid.find_first_not_of("0123456789") != std::string::npos)
    return ignore("the session names no package and account of ours");
  out.paid = true;
  out.session_id = obj["id"];
  out.package_id = package;
  out.user_id = std::stoll(uid);
  return out;
}

}  // namespace varg
