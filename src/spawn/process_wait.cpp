#include "spawn/process_wait.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "spawn/run_blocking.hpp"

namespace nbhub::spawn {

namespace net = boost::asio;
using std::chrono::milliseconds;

net::awaitable<bool> wait_group_gone(ProcessRunner& runner, net::thread_pool& pool, ProcessRef ref,
                                     milliseconds limit) {
  auto const deadline = std::chrono::steady_clock::now() + limit;
  milliseconds delay{10};
  net::steady_timer timer(co_await net::this_coro::executor);
  for (;;) {
    if (runner.poll(ref)) {  // the leader exited (and is reaped); now the rest of the group
      auto job = [&runner, ref] { return runner.group_alive(ref); };
      if (!co_await run_blocking(pool, std::move(job))) co_return true;
    }
    auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= milliseconds::zero()) co_return false;
    timer.expires_after(std::min(delay, left));
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    delay = std::min(delay * 2, milliseconds(200));
  }
}

}  // namespace nbhub::spawn
