// Pipeline step 5, idempotency (SPEC 7): an authenticated POST with an Idempotency-Key runs at most
// once per scope (the calling key, the route, the key) for 24 h. A retry gets the first answer
// (Idempotent-Replayed: true), a concurrent retry waits for it, a different body with the same key
// is 409. A route with own_idempotency keeps the record in its own transaction instead.
#pragma once
#include <functional>

#include "api/pipeline/route.h"
#include "common/clock.h"

namespace varg {

class Idempotency {
 public:
  // A pending record older than this is a claim whose process died: taken over.
  static constexpr int64_t kPendingTtl = 120;

  Idempotency(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // The request's scope: 400 for a key longer than 255 characters.
  Result<IdempotencyRecord> scope(const Ctx& ctx, const RouteSpec& route) const;
  // Runs `next` under the request's key (on a worker: the claim is a store write).
  Task<Result<Response>> run(Ctx& ctx, const RouteSpec& route, Flow& flow,
                             const std::function<Task<Result<Response>>()>& next);

 private:
  Store& store_;
  const Clock& clock_;
};

}  // namespace varg
