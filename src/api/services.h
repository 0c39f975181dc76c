// What route handlers depend on, passed in at registration (no globals).
#pragma once
#include <string>

#include "api/api.h"
#include "api/metrics.h"
#include "auth/api_key.h"
#include "auth/authenticator.h"
#include "auth/keys.h"
#include "auth/login.h"
#include "billing/payments.h"
#include "common/clock.h"
#include "gen/files.h"
#include "gen/jobs.h"
#include "gen/provider_keys.h"
#include "gen/webhooks.h"
#include "store/store.h"

namespace varg {

struct Services {
  Store& store;
  const Clock& clock;
  const SecretHasher& hasher;
  Authenticator& auth;
  Metrics& metrics;
  Login& login;
  std::string public_url;  // absolute base for every URL we hand out
  // Generation and billing (set by vargd; unit tests of the account routes leave them null).
  Jobs* jobs = nullptr;
  Files* files = nullptr;
  ProviderKeys* provider_keys = nullptr;
  billing::Payments* payments = nullptr;
  Webhooks* webhooks = nullptr;
};

// Route families, each in its own file.
void add_system_routes(Api& api, Services& s);
void add_account_routes(Api& api, Services& s);
void add_login_routes(Api& api, Services& s);
void add_vast_routes(Api& api, Services& s);
void add_generation_routes(Api& api, Services& s);  // needs jobs, files
void add_billing_routes(Api& api, Services& s);     // needs payments, provider_keys, jobs
void add_dashboard_routes(Api& api, Services& s);   // the web dashboard and its own routes
void add_webhook_routes(Api& api, Services& s);     // needs webhooks
void add_mcp_routes(Api& api, Services& s);         // /mcp (docs/mcp.md); needs jobs
void add_oauth_routes(Api& api, Services& s);       // OAuth for MCP clients (docs/mcp.md)
// The account an OAuth access token (vmcp_at_...) stands for, at /mcp; 401 when unknown, expired or revoked.
Result<Principal> oauth_principal(Services& s, std::string_view token);

// Generation steps shared by /v1 and the dashboard's playground, so validation, billing and the
// cache are one code path.
const std::vector<std::string>& generation_capabilities();
// `model` non-empty: the route decides the model (media processing's operations).
Result<Response> submit_generation(Services& s, Ctx& ctx, const std::string& capability, const std::string& model = "");
Result<Response> job_state(Services& s, Ctx& ctx);   // {id} → JobResponse
Result<Response> job_events(Services& s, Ctx& ctx);  // {id} → text/event-stream

// The Set-Cookie value of the dashboard's session (Secure when the public URL is https).
std::string dashboard_cookie(const Services& s, const std::string& token, int64_t max_age);
// The listing shape of a key (never the key itself).
json key_json(const ApiKeyRecord& k);
// Creates a key from a {"name", "expires_in", "permissions"} body, within the caller's own rights.
Result<IssuedKey> create_key(Services& s, const Ctx& ctx, bool name_required);
// Revokes the calling API key and issues its replacement (Vast reset_apikey and /api/keys/reset).
Result<IssuedKey> reset_calling_key(Services& s, const Principal& p);
// The numeric id in a path parameter; anything else is a 404 for that resource.
Result<int64_t> id_param(const Ctx& ctx, const char* what);

}  // namespace varg
