// Webhooks (SPEC 13): the account's signing secret (shown and rotated) and its deliveries.
#include <algorithm>

#include "api/services.h"
#include "common/clock.h"

namespace varg {

void add_webhook_routes(Api& api, Services& s) {
  auto secret_answer = [](const Result<std::string>& secret) -> Result<Response> {
    if (!secret.ok()) return secret.status();
    Response r = json_response(200, {{"secret", *secret},
                                     {"scheme", "Standard Webhooks: webhook-signature = v1,base64(HMAC-SHA256(base64-decoded "
                                                "secret after whsec_, webhook-id.webhook-timestamp.body))"}});
    r.set_header("Cache-Control", "no-store");
    return r;
  };
  api.add({"GET", "/api/webhooks/secret", "The account's webhook signing secret (made on first use)", Auth::key_or_session,
           "user_write", "api.webhooks.secret", nullptr, 0,
           [&s, secret_answer](Ctx& ctx) { return secret_answer(s.webhooks->secret(ctx.principal.user_id)); }});
  api.add({"POST", "/api/webhooks/secret", "Rotate the webhook signing secret (the new one signs every delivery from now)",
           Auth::key_or_session, "user_write", "api.webhooks.secret", nullptr, 0,
           [&s, secret_answer](Ctx& ctx) { return secret_answer(s.webhooks->rotate(ctx.principal.user_id)); }});
  api.add({"GET", "/api/webhooks/deliveries", "The account's webhook deliveries, newest first (?limit=, at most 200)",
           Auth::key_or_session, "user_read", "api.webhooks.read", nullptr, 0, [&s](Ctx& ctx) -> Result<Response> {
             int limit = 50;
             if (auto l = ctx.req.query_param("limit"); l && !l->empty()) {
               if (l->size() > 3 || l->find_first_not_of("0123456789") != std::string::npos || std::stoi(*l) < 1 || std::stoi(*l) > 200)
                 return error(Code::invalid, "Query parameter 'limit' must be an integer from 1 to 200", "limit");
               limit = std::stoi(*l);
             }
             auto list = s.store.webhooks_of(ctx.principal.user_id, limit);
             if (!list.ok()) return list.status();
             json out = json::array();
             for (auto& d : *list) {
               json e = {{"id", d.id},         {"job_id", d.job_id},   {"url", d.url},
                         {"status", d.status}, {"attempts", d.attempts}, {"last_status", d.last_status},
                         {"created_at", iso8601(d.created_at)}};
               if (!d.last_error.empty()) e["last_error"] = d.last_error;
               if (d.delivered_at) e["delivered_at"] = iso8601(d.delivered_at);
               if (d.status == "pending") e["next_attempt_at"] = iso8601(d.next_attempt_at / 1000);
               out.push_back(std::move(e));
             }
             return json_response(200, {{"deliveries", out}});
           }});
}

}  // namespace varg
