// Pipeline step 4, permission: a scoped key must hold the route's permission, within its
// constraints on the request's attributes (model, credits). Null permissions are full rights. Pure.
#pragma once
#include "api/pipeline/route.h"

namespace varg {

Status check_permission(const Principal& p, const RouteSpec& route, const Request& req);

}  // namespace varg
