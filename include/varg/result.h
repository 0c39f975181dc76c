// Errors as values for libvarg: every call returns a Result<T>, never throws.
// An Error carries the HTTP status (0 when no answer came) and the server's own error text.
#pragma once
#include <string>
#include <utility>
#include <variant>

namespace varg::client {

struct Error {
  int status = 0;       // HTTP status; 0 when the server was not reached or the failure is local
  std::string message;  // the server's error text, or what went wrong on this side
  std::string url;      // the address that was called, when there was one

  bool unreachable() const { return status == 0 && !url.empty(); }
};

template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error e) : v_(std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// A call that succeeds with nothing to return.
template <>
class Result<void> {
 public:
  Result() = default;
  Result(Error e) : error_(std::move(e)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Error local_error(std::string message) { return Error{0, std::move(message), {}}; }

}  // namespace varg::client
