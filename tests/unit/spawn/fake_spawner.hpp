#pragma once
// A Spawner double for the faults real processes cannot show on demand (STYLE.md §9): a start()
// that takes a set time (or never ends), a server that "exits" with a scripted status. Its
// servers are a TestServer; it counts concurrent and total starts and notes cancellations.
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "spawn/spawner.hpp"

namespace nbhub::spawn::test {

class FakeSpawner final : public Spawner {
 public:
  std::string url;                          // what start() returns
  std::chrono::milliseconds start_delay{0};
  std::optional<int> exit_status;           // what poll() answers
  std::string tail;                         // what output_tail() answers
  int starts = 0, current = 0, max_concurrent = 0, stops = 0;
  std::vector<std::string> started_users;  // in start() order
  bool start_saw_cancel = false;
  std::size_t own_start_limit = 0;          // what start_limit() answers

  net::awaitable<Result<Started>> start(SpawnRequest req, ProgressSink& sink) override {
    ++starts;
    started_users.push_back(req.user);
    max_concurrent = std::max(max_concurrent, ++current);
    sink.progress({30, "fake start of " + req.user});
    net::steady_timer t(co_await net::this_coro::executor, start_delay);
    boost::system::error_code ec;
    co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
    --current;
    if (ec) {
      start_saw_cancel = true;  // and nothing to clean up
      co_return Error{Errc::unavailable, "cancelled"};
    }
    boost::json::object state{{"user", req.user}};
    co_return Started{url, state};
  }
  net::awaitable<std::optional<int>> poll(boost::json::object) override { co_return exit_status; }
  net::awaitable<Result<void>> stop(boost::json::object, bool) override {
    ++stops;
    co_return Result<void>{};
  }
  Result<void> adopt(boost::json::object const&) override { return {}; }
  net::awaitable<std::string> output_tail(boost::json::object) override { co_return tail; }
  std::size_t start_limit() const override { return own_start_limit; }
};

}  // namespace nbhub::spawn::test
