#include "hub/blocking.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace nbhub::hub {
namespace {

namespace net = boost::asio;

// Runs `aw` on a one-thread io_context (the calling thread) to completion.
template <class T>
T run(net::io_context& ioc, net::awaitable<T> aw) {
  std::optional<T> out;
  std::exception_ptr error;
  net::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e, T v) {
    error = e;
    out = std::move(v);
  });
  ioc.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

TEST(RunBlocking, RunsOnThePoolAndResumesOnTheCallersThread) {
  net::io_context ioc(1);
  net::thread_pool pool(2);
  auto const caller = std::this_thread::get_id();
  std::thread::id worker, resumed;
  auto body = [&]() -> net::awaitable<std::string> {
    auto work = [&] {
      worker = std::this_thread::get_id();
      return std::string("done");
    };
    auto v = co_await run_blocking(pool, std::move(work));
    resumed = std::this_thread::get_id();
    co_return v;
  };
  EXPECT_EQ(run(ioc, body()), "done");
  EXPECT_NE(worker, caller);
  EXPECT_EQ(resumed, caller);
  pool.join();
}

TEST(RunBlocking, MoveOnlyResultsAndVoidWork) {
  net::io_context ioc(1);
  net::thread_pool pool(1);
  int side = 0;
  auto body = [&]() -> net::awaitable<int> {
    auto make = [] { return std::make_unique<int>(41); };
    auto p = co_await run_blocking(pool, std::move(make));
    auto bump = [&] { side = *p + 1; };
    co_await run_blocking(pool, std::move(bump));
    co_return side;
  };
  EXPECT_EQ(run(ioc, body()), 42);
  pool.join();
}

TEST(RunBlocking, AnExceptionFromTheWorkIsRethrownInTheCaller) {
  net::io_context ioc(1);
  net::thread_pool pool(1);
  auto body = [&]() -> net::awaitable<int> {
    auto fail = []() -> int { throw std::runtime_error("disk on fire"); };
    try {
      co_await run_blocking(pool, std::move(fail));
    } catch (std::runtime_error const& e) {
      co_return std::string(e.what()) == "disk on fire" ? 1 : 2;
    }
    co_return 0;
  };
  EXPECT_EQ(run(ioc, body()), 1);
  pool.join();
}

}  // namespace
}  // namespace nbhub::hub
