#pragma once
// Runs blocking work (SQLite, fsync, crypto on large values) on the blocking pool and resumes
// the caller on its own executor (STYLE.md §6.7: nothing blocks an I/O thread).
//
// One post to the pool and one post back, nothing else: no coroutine frame and no co_spawn
// machinery on the pool for each store call. An exception thrown by the work is rethrown in
// the caller.
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace nbhub::hub {

namespace detail {

// What the work left for the caller: its value (none for void work) or its exception.
template <class R>
struct BlockingOutcome {
  std::exception_ptr error;
  std::optional<R> value;
};
template <>
struct BlockingOutcome<void> {
  std::exception_ptr error;
};

}  // namespace detail

template <class F>
boost::asio::awaitable<std::invoke_result_t<F>> run_blocking(boost::asio::thread_pool& pool, F f) {
  namespace net = boost::asio;
  using R = std::invoke_result_t<F>;
  using Outcome = detail::BlockingOutcome<R>;
  auto initiate = [&pool](auto handler, F fn) {
    // The handler resumes the awaiting coroutine: it must run on that coroutine's executor,
    // which the work guard also keeps running until then.
    auto work = net::make_work_guard(net::get_associated_executor(handler));
    net::post(pool, [handler = std::move(handler), fn = std::move(fn), work = std::move(work)]() mutable {
      Outcome out;
      try {
        if constexpr (std::is_void_v<R>) fn();
        else out.value.emplace(fn());
      } catch (...) {
        out.error = std::current_exception();
      }
      auto ex = work.get_executor();
      net::post(ex, [handler = std::move(handler), out = std::move(out)]() mutable {
        std::move(handler)(std::move(out));
      });
    });
  };
  // Named, not a temporary inside the co_await: GCC 12 destroys such temporaries twice.
  auto op = net::async_initiate<decltype(net::use_awaitable), void(Outcome)>(std::move(initiate), net::use_awaitable,
                                                                              std::move(f));
  Outcome out = co_await std::move(op);
  if (out.error) std::rethrow_exception(out.error);
  if constexpr (!std::is_void_v<R>) {
    R result = std::move(*out.value);
    co_return result;
  }
}

}  // namespace nbhub::hub
