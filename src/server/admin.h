// `vargd admin ...`: operator commands on the server's own store.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "server/config.h"

namespace varg {

// Returns the process exit status.
int run_admin(const ParsedArgs& args);

}  // namespace varg
