#include "api/pipeline/permission.h"

namespace varg {

Status check_permission(const Principal& p, const RouteSpec& route, const Request& req) {
  if (route.category.empty() || !p.permissions) return Status::Ok();
  json attrs = route.attrs ? route.attrs(req) : json::object();
  if (permitted(p.permissions, route.category, route.api_name, attrs)) return Status::Ok();
  return error(Code::forbidden,
               "This API key does not have the '" + route.category + "' permission for " + route.api_name);
}

}  // namespace varg
