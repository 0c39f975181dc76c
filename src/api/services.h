// What route handlers depend on, passed in at registration (no globals).
#pragma once
#include <string>

#include "api/api.h"
#include "api/metrics.h"
#include "auth/api_key.h"
#include "auth/authenticator.h"
#include "common/clock.h"
#include "store/store.h"

namespace varg {

struct Services {
  Store& store;
  const Clock& clock;
  const SecretHasher& hasher;
  Authenticator& auth;
  Metrics& metrics;
  std::string public_url;  // absolute base for every URL we hand out
};

// Route families, each in its own file.
void add_system_routes(Api& api, Services& s);
void add_account_routes(Api& api, Services& s);

// The listing shape of a key (never the key itself).
json key_json(const ApiKeyRecord& k);

}  // namespace varg
