// Turns a non-2xx answer into an Error carrying the server's own text, whichever dialect it speaks
// (SPEC 9): gateway error.message, Vast msg, app error.
#pragma once
#include <string>

#include "varg/result.h"

namespace varg::client {

Error server_error(int status, const std::string& body, const std::string& url);

}  // namespace varg::client
