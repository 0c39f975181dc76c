// Task<T>: the coroutine type of the request pipeline. Lazy (it runs when awaited), resumes its
// awaiter by symmetric transfer when it returns (no stack growth through a chain of steps), and
// carries an exception to its awaiter. Where it runs is decided by what it awaits (api/pipeline/
// flow.h moves it to the worker pool); detach() starts one and hands its result to a callback.
// No Asio here: route files include this, not the network headers.
#pragma once
#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

namespace varg {

template <class T>
class [[nodiscard]] Task {
 public:
  struct promise_type {
    std::optional<T> value;
    std::exception_ptr error;
    std::coroutine_handle<> next;

    Task get_return_object() { return Task(std::coroutine_handle<promise_type>::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct Final {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        auto next = h.promise().next;
        return next ? next : std::noop_coroutine();
      }
      void await_resume() noexcept {}
    };
    Final final_suspend() noexcept { return {}; }
    template <class U>
    void return_value(U&& v) {
      value.emplace(std::forward<U>(v));
    }
    void unhandled_exception() { error = std::current_exception(); }
  };

  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&&) = delete;
  ~Task() {
    if (h_) h_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    h_.promise().next = awaiter;
    return h_;
  }
  T await_resume() {
    if (h_.promise().error) std::rethrow_exception(h_.promise().error);
    return std::move(*h_.promise().value);
  }

 private:
  explicit Task(std::coroutine_handle<promise_type> h) : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

namespace detail {
struct Detached {
  struct promise_type {
    Detached get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }  // detach()'s callers catch inside the task
  };
};
}  // namespace detail

// Runs `task` on this thread until its first hop, then wherever it moves; calls done(result) on
// the thread it finishes on. The task must not throw.
template <class T, class F>
detail::Detached detach(Task<T> task, F done) {
  done(co_await std::move(task));
}

}  // namespace varg
