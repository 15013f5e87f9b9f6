#pragma once
// Runs blocking work (fork/exec, getpwnam, /proc scans, file reads) on the blocking pool and
// resumes the caller on its own executor (STYLE.md §6.7). Same idea as hub/blocking.hpp, which
// spawn/ may not include.
//
// The pool job is deliberately not cancellable: a caller's cancellation is not forwarded to
// it. A fork that already happened must be reported back so the caller can clean up, and
// Asio 1.81's co_spawn would otherwise throw operation_aborted from its entry point after the
// job finished, losing the result.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <type_traits>

namespace nbhub::spawn {

template <class F>
boost::asio::awaitable<std::invoke_result_t<F>> run_blocking(boost::asio::thread_pool& pool, F f) {
  using R = std::invoke_result_t<F>;
  // Named, not a temporary inside the co_await: GCC 12 destroys such temporaries twice.
  auto task = [f = std::move(f)]() mutable -> boost::asio::awaitable<R> { co_return f(); };
  auto token = boost::asio::bind_cancellation_slot(boost::asio::cancellation_slot(),
                                                   boost::asio::use_awaitable);
  R result = co_await boost::asio::co_spawn(pool.get_executor(), std::move(task), token);
  co_return result;
}

}  // namespace nbhub::spawn
