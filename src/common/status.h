// Errors as values: a Status carries a canonical code and a human message; Result<T> is a T or a Status.
// One place (api/errors) turns a Status into an HTTP response in the dialect of the route family.
#pragma once
#include <string>
#include <utility>
#include <variant>

namespace varg {

enum class Code {
  ok,
  invalid,               // 400 validation_error
  unauthorized,          // 401
  insufficient_balance,  // 402
  forbidden,             // 403
  not_found,             // 404
  method_not_allowed,    // 405
  conflict,              // 409
  payload_too_large,     // 413
  rate_limited,          // 429
  internal,              // 500
  provider_error,        // 502
  unavailable,           // 503
  timeout,               // 504
  insufficient_storage,  // 507
};

int http_status(Code c);
const char* code_name(Code c);  // "validation_error", "unauthorized", ...

struct Status {
  Code code = Code::ok;
  std::string message;
  std::string field;     // the request field at fault, when there is one
  std::string provider;  // the upstream provider at fault, when there is one
  int retry_after = 0;   // seconds: the caller may retry then (a Retry-After header)

  bool ok() const { return code == Code::ok; }
  static Status Ok() { return Status{}; }
};

inline Status error(Code c, std::string message, std::string field = {}) {
  return Status{c, std::move(message), std::move(field), {}, 0};
}

// A temporary failure (the database restarting, a full disk, an open circuit): the response
// carries Retry-After.
inline Status retry_later(Code c, std::string message, int seconds = 1) {
  Status s = error(c, std::move(message));
  s.retry_after = seconds;
  return s;
}

template <class T>
class Result {
 public:
  Result() : v_(Status{Code::internal, "uninitialized result", {}, {}, 0}) {}
  Result(T value) : v_(std::move(value)) {}
  Result(Status s) : v_(std::move(s)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace varg

// Propagates a failed Status or Result out of the calling function.
#define VARG_TRY(expr)                              \
  do {                                              \
    auto&& varg_try_ = (expr);                      \
    if (!varg_try_.ok()) return varg_try_status_(varg_try_); \
  } while (0)

namespace varg {
inline const Status& varg_try_status_(const Status& s) { return s; }
template <class T>
const Status& varg_try_status_(const Result<T>& r) { return r.status(); }
}  // namespace varg
