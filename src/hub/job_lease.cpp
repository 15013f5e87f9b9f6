#include "hub/job_lease.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "hub/blocking.hpp"
#include "store/store.hpp"

namespace nbhub::hub {

namespace net = boost::asio;

JobLease::JobLease(std::string job, store::Store& store, std::string holder, Clock const& clock,
                   net::thread_pool& pool, spdlog::logger& log, LeaseTiming timing)
    : name_("job " + job), store_(store), holder_(std::move(holder)), clock_(clock), pool_(pool), log_(log),
      timing_(timing) {}

net::awaitable<bool> JobLease::renew_once() {
  auto const now = clock_.now();
  auto const until = now + std::chrono::duration_cast<Clock::SysTime::duration>(timing_.ttl);
  auto take = [this, now, until]() { return store_.take_lease(name_, holder_, now, until); };
  auto r = co_await run_blocking(pool_, std::move(take));
  bool const now_held = r && *r;
  bool const was = held_.exchange(now_held);
  if (!r)
    log_.warn("lease '{}': {}; this replica does not run the job until the database answers", name_,
              r.error().message);
  if (now_held && !was) log_.info("lease '{}': this replica ({}) runs the job now", name_, holder_);
  if (!now_held && was && r) log_.info("lease '{}': another replica runs the job now", name_);
  co_return now_held;
}

net::awaitable<void> JobLease::keep() {
  net::steady_timer timer(co_await net::this_coro::executor);
  while (!stopped_) {
    (void)co_await renew_once();
    timer.expires_after(timing_.renew_every);
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    if (ec) break;
  }
  if (held_.exchange(false)) {
    auto release = [this]() { return store_.release_lease(name_, holder_); };
    if (auto r = co_await run_blocking(pool_, std::move(release)); !r)
      log_.warn("lease '{}': releasing it: {}", name_, r.error().message);
  }
}

void JobLease::release_blocking() {
  stopped_ = true;
  if (!held_.exchange(false)) return;
  if (auto r = store_.release_lease(name_, holder_); !r)
    log_.warn("lease '{}': releasing it: {}", name_, r.error().message);
}

net::awaitable<void> run_while_held(JobLease& lease, std::function<std::chrono::seconds()> every,
                                    std::function<net::awaitable<void>()> round) {
  net::steady_timer timer(co_await net::this_coro::executor);
  for (;;) {
    timer.expires_after(std::max(every(), std::chrono::seconds(1)));
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    if (lease.held()) co_await round();
  }
}

net::awaitable<void> follow_lease(JobLease& lease, std::chrono::milliseconds every,
                                  std::function<net::awaitable<void>()> gained,
                                  std::function<net::awaitable<void>()> lost) {
  net::steady_timer timer(co_await net::this_coro::executor);
  bool running = false;
  for (;;) {
    if (lease.held() != running) {
      running = !running;
      if (running) co_await gained();
      else co_await lost();
    }
    timer.expires_after(every);
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
  }
}

}  // namespace nbhub::hub
