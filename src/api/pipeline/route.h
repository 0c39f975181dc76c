// What a route is to the pipeline: its spec (method, pattern, who may call it, the permission it
// needs, its handler) and the per-request context handlers receive.
#pragma once
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/pipeline/authentication.h"
#include "api/pipeline/flow.h"
#include "common/task.h"
#include "http/message.h"
#include "store/store.h"

namespace varg {

using json = nlohmann::json;

struct Ctx {
  const Request& req;
  std::map<std::string, std::string> params;
  Principal principal;
  std::string request_id;
  Family family = Family::gateway;
  // A route with own_idempotency: the request's Idempotency-Key scope, for the handler to write
  // in its own transaction.
  std::optional<IdempotencyRecord> idempotency{};
  const std::string& param(const std::string& name) const { return params.at(name); }
};

using Handler = std::function<Result<Response>(Ctx&)>;
// A handler that decides itself where its parts run: it starts where the pipeline is (perhaps the
// network thread) and calls co_await flow.to_worker() before anything that may block.
using AsyncHandler = std::function<Task<Result<Response>>(Ctx&, Flow&)>;

struct RouteSpec {
  std::string method, pattern, summary;
  Auth auth = Auth::api_key;
  std::string category, api_name;  // the permission the route needs; empty category: any principal
  std::function<json(const Request&)> attrs;  // attributes for permission constraints (model, credits)
  size_t body_limit = 0;                      // 0: the JSON body limit
  Handler handler;
  // The handler only reads the store (never writes, never waits on a lock or the network): with a
  // store that answers reads without waiting it runs where the request is — on the network thread
  // when the credential was in memory (SPEC 1: as fast as nginx on hot paths).
  bool inline_read = false;
  // The response shows a secret (a new API key): an Idempotency-Key retry is answered 409 rather
  // than from a stored copy, because no secret is ever stored.
  bool shows_secret = false;
  // The handler keeps the Idempotency-Key in its own transaction (generations: with the job, so no
  // crash can separate them); the pipeline only passes its scope in Ctx::idempotency.
  bool own_idempotency = false;
  AsyncHandler async_handler{};  // when set, used instead of `handler`
};

}  // namespace varg
