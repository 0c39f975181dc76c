// /healthz, /metrics, /openapi.json.
#include "api/services.h"

namespace varg {

void add_system_routes(Api& api, Services& s) {
  api.add({"GET", "/healthz", "Liveness and database reachability", Auth::none, "", "", nullptr, 0,
           [&s](Ctx&) -> Result<Response> {
             auto users = s.store.user_by_id(0);  // a cheap query proves the store answers
             if (!users.ok() && users.status().code != Code::not_found) return users.status();
             return json_response(200, {{"status", "ok"}});
           },
           true});
  api.add({"GET", "/metrics", "Prometheus metrics", Auth::none, "", "", nullptr, 0, [&s](Ctx&) -> Result<Response> {
             Response r;
             r.content_type = "text/plain; version=0.0.4";
             r.body = s.metrics.render();
             return r;
           }});
  api.add({"GET", "/openapi.json", "This API's OpenAPI description", Auth::none, "", "", nullptr, 0,
           [&api](Ctx&) -> Result<Response> { return json_response(200, api.openapi()); }});
}

}  // namespace varg
