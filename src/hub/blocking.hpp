#pragma once
// Runs blocking work (SQLite, fsync, crypto on large values) on the blocking pool and resumes
// the caller on its own executor (STYLE.md §6.7: nothing blocks an I/O thread).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <type_traits>

namespace nbhub::hub {

template <class F>
boost::asio::awaitable<std::invoke_result_t<F>> run_blocking(boost::asio::thread_pool& pool, F f) {
  using R = std::invoke_result_t<F>;
  // Named, not a temporary inside the co_await: GCC 12 destroys such temporaries twice.
  if constexpr (std::is_void_v<R>) {
    auto task = [f = std::move(f)]() mutable -> boost::asio::awaitable<void> { f(); co_return; };
    co_await boost::asio::co_spawn(pool.get_executor(), std::move(task), boost::asio::use_awaitable);
  } else {
    auto task = [f = std::move(f)]() mutable -> boost::asio::awaitable<R> { co_return f(); };
    R result = co_await boost::asio::co_spawn(pool.get_executor(), std::move(task),
                                              boost::asio::use_awaitable);
    co_return result;
  }
}

}  // namespace nbhub::hub
