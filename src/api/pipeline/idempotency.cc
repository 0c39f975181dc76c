#include "api/pipeline/idempotency.h"

#include <chrono>
#include <thread>

#include "common/crypto.h"

namespace varg {

// Scoped to the calling key and the route: another key (perhaps with fewer rights) replaying the
// same Idempotency-Key runs its own request, through its own checks.
Result<IdempotencyRecord> Idempotency::scope(const Ctx& ctx, const RouteSpec& route) const {
  const std::string key(ctx.req.header("idempotency-key"));
  if (key.size() > 255) return error(Code::invalid, "Idempotency-Key is longer than 255 characters", "Idempotency-Key");
  IdempotencyRecord r;
  r.user_id = ctx.principal.user_id;
  r.api_key_id = ctx.principal.key_id;
  r.route = route.method + " " + route.pattern;
  r.key = key;
  r.body_hash = to_hex(sha256(ctx.req.method + " " + ctx.req.path + "\n" + ctx.req.body));
  r.created_at = clock_.now();
  return r;
}

Task<Result<Response>> Idempotency::run(Ctx& ctx, const RouteSpec& route, Flow& flow,
                                        const std::function<Task<Result<Response>>()>& next) {
  auto scoped = scope(ctx, route);
  if (!scoped.ok()) co_return scoped.status();
  IdempotencyRecord r = std::move(*scoped);
  const bool moved = co_await flow.to_worker();
  if (!moved) co_return overloaded();
  const int64_t now = r.created_at;
  const int64_t since = now - kIdempotencyTtl, pending_since = now - kPendingTtl;
  bool claimed = false;
  auto got = store_.idempotency_claim(r, since, pending_since, &claimed);
  // A concurrent retry waits for the first request's answer rather than doing the work twice.
  for (int i = 0; got.ok() && !claimed && !got->done && got->body_hash == r.body_hash && i < 100; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    got = store_.idempotency_claim(r, since, pending_since, &claimed);
  }
  if (!got.ok()) co_return got.status();
  if (!claimed) {
    if (got->body_hash != r.body_hash)
      co_return error(Code::conflict, "This Idempotency-Key was already used with a different request");
    if (!got->done) co_return error(Code::conflict, "A request with this Idempotency-Key is still in progress; retry shortly");
    if (got->withheld)
      co_return error(Code::conflict,
                      "This Idempotency-Key already created an API key, and its secret is shown only once, so it "
                      "cannot be shown again: list your keys, revoke it if it was lost, and create another with a "
                      "new Idempotency-Key");
    Response replay;
    replay.status = 200;
    replay.body = got->response;
    replay.set_header("Idempotent-Replayed", "true");
    co_return replay;
  }
  Result<Response> res = error(Code::internal, "handler threw");
  std::exception_ptr threw;
  try {
    res = co_await next();
  } catch (...) {
    threw = std::current_exception();
  }
  if (threw) {
    store_.idempotency_abandon(r);
    std::rethrow_exception(threw);
  }
  if (res.ok() && res->status < 300 && !res->stream) {
    r.done = true;
    r.status = res->status;
    r.withheld = route.shows_secret;
    r.response = route.shows_secret ? "" : res->body;
    store_.idempotency_finish(r);
  } else {
    store_.idempotency_abandon(r);  // nothing happened: a retry may try again
  }
  co_return res;
}

}  // namespace varg
