#include "spawn/spawn_queue.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/logger.h>

#include <algorithm>

namespace nbhub::spawn {

namespace json = boost::json;
using std::chrono::milliseconds;

// One spawn waiting for a slot. The channel is thread-safe, so release_slot() can wake the
// waiter from any thread; its completion runs on the waiter's own executor.
struct SpawnQueue::Waiter {
  explicit Waiter(net::any_io_executor ex) : wake(std::move(ex), 1) {}
  net::experimental::concurrent_channel<void(boost::system::error_code)> wake;
  bool granted = false;  // guarded by SpawnQueue::mu_: the releaser handed its slot over
};

namespace {

// Runs `f` when the scope ends, also when a coroutine frame is destroyed by an exception.
template <class F>
struct OnExit {
  F f;
  ~OnExit() { f(); }
};
template <class F>
OnExit(F) -> OnExit<F>;

// The smaller of two limits where 0 means none.
std::size_t effective_limit(std::size_t a, std::size_t b) {
  if (a == 0) return b;
  if (b == 0) return a;
  return std::min(a, b);
}

}  // namespace

SpawnQueue::SpawnQueue(SpawnerConfig const& cfg, Spawner& spawner, http::HttpClient& http,
                       Clock const& clock, spdlog::logger& log,
                       std::function<std::size_t()> running_servers)
    : spawner_(spawner),
      http_(http),
      clock_(clock),
      log_(log),
      running_servers_(std::move(running_servers)),
      limits_(limits_for(cfg)) {}

SpawnQueue::Limits SpawnQueue::limits_for(SpawnerConfig const& cfg) const {
  return Limits{effective_limit(cfg.concurrent_spawn_limit, spawner_.start_limit()), cfg.active_server_limit,
                cfg.start_timeout, ReadinessPolicy{cfg.http_timeout}};
}

SpawnQueue::Limits SpawnQueue::limits() const {
  std::lock_guard lock(mu_);
  return limits_;
}

void SpawnQueue::set_limits(SpawnerConfig const& cfg) {
  auto next = limits_for(cfg);
  std::lock_guard lock(mu_);
  limits_ = next;
  // A higher limit (or none) lets waiters in now rather than at the next release.
  while (!waiting_.empty() && (limits_.spawn == 0 || spawning_ < limits_.spawn)) {
    auto w = waiting_.front();
    waiting_.pop_front();
    ++spawning_;
    w->granted = true;
    w->wake.try_send(boost::system::error_code{});
  }
  notify_waiters_locked();
}

SpawnQueue::~SpawnQueue() = default;

bool SpawnQueue::at_active_limit() const {
  auto const active = limits().active;
  if (active == 0) return false;
  std::size_t running = running_servers_();
  std::lock_guard lock(mu_);
  return running + in_flight_ >= active;
}

std::size_t SpawnQueue::spawning() const {
  std::lock_guard lock(mu_);
  return spawning_;
}

std::size_t SpawnQueue::queued() const {
  std::lock_guard lock(mu_);
  return waiting_.size();
}

net::awaitable<Result<ReadyServer>> SpawnQueue::spawn(SpawnRequest req, ProgressSink& sink) {
  // This spawn's limits and timeouts: a reload while it runs does not change them.
  auto const lim = limits();
  std::size_t running = lim.active ? running_servers_() : 0;
  {
    std::lock_guard lock(mu_);
    if (lim.active && running + in_flight_ >= lim.active)
      co_return Error{Errc::unavailable,
                      fmt::format("the hub is at its limit of {} running servers; try again "
                                  "later",
                                  lim.active)};
    ++in_flight_;
  }
  OnExit in_flight{[this] {
    std::lock_guard lock(mu_);
    --in_flight_;
  }};

  if (auto slot = co_await acquire_slot(sink); !slot) co_return slot.error();
  OnExit slot{[this] { release_slot(); }};

  std::string prefix = req.service_prefix;
  auto started = co_await start_within_timeout(std::move(req), sink, lim.start_timeout);
  if (!started) co_return started.error();
  sink.started(*started);
  std::string url = started->url + prefix;
  sink.progress({50, fmt::format("Waiting for the server to answer at {}", url)});

  auto ready = co_await wait_until_ready(http_, spawner_, started->state, url, lim.readiness,
                                         clock_, log_);
  if (ready) co_return ReadyServer{std::move(*started), std::move(*ready)};

  log_.warn("spawn failed, stopping the server: {}", ready.error().message);
  auto ex = co_await net::this_coro::executor;
  if ((co_await net::this_coro::cancellation_state).cancelled() != net::cancellation_type::none) {
    // Our caller is gone and further awaits here would throw: stop in a coroutine of its own.
    auto stop = [](Spawner& s, json::object st, spdlog::logger& log) -> net::awaitable<void> {
      if (auto r = co_await s.stop(std::move(st), true); !r)
        log.error("stopping a cancelled spawn failed: {}", r.error().message);
    };
    net::co_spawn(ex, stop(spawner_, started->state, log_), [this](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (std::exception const& ex) {
        log_.error("stopping a cancelled spawn threw: {}", ex.what());
      }
    });
  } else if (auto stopped = co_await spawner_.stop(started->state, true); !stopped) {
    log_.error("stopping a failed spawn failed: {}", stopped.error().message);
  }
  co_return ready.error();
}

net::awaitable<Result<ReadyServer>> SpawnQueue::await_ready(Started started, std::string prefix) {
  std::string url = started.url + prefix;
  auto const readiness = limits().readiness;
  auto ready = co_await wait_until_ready(http_, spawner_, started.state, url, readiness, clock_, log_);
  if (ready) co_return ReadyServer{std::move(started), std::move(*ready)};
  log_.warn("adopted spawn failed, stopping the server: {}", ready.error().message);
  if (auto stopped = co_await spawner_.stop(started.state, true); !stopped)
    log_.error("stopping a failed spawn failed: {}", stopped.error().message);
  co_return ready.error();
}

net::awaitable<Result<Started>> SpawnQueue::start_within_timeout(SpawnRequest req, ProgressSink& sink,
                                                                 std::chrono::milliseconds start_timeout) {
  using namespace net::experimental::awaitable_operators;
  net::steady_timer timer(co_await net::this_coro::executor, start_timeout);
  // Named awaitables: GCC 12 mishandles temporaries inside co_await expressions.
  auto start = spawner_.start(std::move(req), sink);
  auto expiry = timer.async_wait(net::use_awaitable);
  // The loser is cancelled and awaited: a start() cut off by the timer cleans up first.
  auto winner = co_await (std::move(start) || std::move(expiry));
  if (winner.index() == 0) co_return std::get<0>(std::move(winner));
  co_return Error{Errc::unavailable,
                  fmt::format("the spawner did not start the server within start_timeout ({})",
                              describe_duration(start_timeout))};
}

net::awaitable<Result<void>> SpawnQueue::acquire_slot(ProgressSink& sink) {
  std::shared_ptr<Waiter> w;
  {
    std::lock_guard lock(mu_);
    if (limits_.spawn == 0 || (waiting_.empty() && spawning_ < limits_.spawn)) {
      ++spawning_;
      co_return Result<void>{};
    }
    w = std::make_shared<Waiter>(co_await net::this_coro::executor);
    waiting_.push_back(w);
  }
  std::size_t reported = 0;
  for (;;) {
    std::size_t ahead = 0;
    {
      std::lock_guard lock(mu_);
      if (w->granted) co_return Result<void>{};
      auto pos = std::find(waiting_.begin(), waiting_.end(), w) - waiting_.begin();
      ahead = spawning_ + static_cast<std::size_t>(pos);
    }
    if (ahead != reported) {
      sink.progress({5, fmt::format("Waiting for {} spawn{} ahead of you", ahead,
                                    ahead == 1 ? "" : "s")});
      reported = ahead;
    }
    boost::system::error_code ec;
    co_await w->wake.async_receive(net::redirect_error(net::use_awaitable, ec));
    if (ec) {  // cancelled by our caller
      std::lock_guard lock(mu_);
      if (w->granted) {
        // Handed a slot in the same instant: pass it on.
        if (!waiting_.empty()) {
          auto next = waiting_.front();
          waiting_.pop_front();
          next->granted = true;
          next->wake.try_send(boost::system::error_code{});
        } else {
          --spawning_;
        }
      } else {
        std::erase(waiting_, w);
      }
      notify_waiters_locked();
      co_return Error{Errc::unavailable, "the spawn was cancelled while it waited for its turn"};
    }
  }
}

void SpawnQueue::release_slot() {
  std::lock_guard lock(mu_);
  // After a reload lowered the limit, slots above it are not handed on.
  if (waiting_.empty() || (limits_.spawn != 0 && spawning_ > limits_.spawn)) {
    --spawning_;
    return;
  }
  auto next = waiting_.front();  // the slot passes to it; spawning_ stays
  waiting_.pop_front();
  next->granted = true;
  next->wake.try_send(boost::system::error_code{});
  notify_waiters_locked();
}

void SpawnQueue::notify_waiters_locked() {
  // Everyone moved up one place. A full channel already holds a wake-up: nothing lost.
  for (auto const& w : waiting_) w->wake.try_send(boost::system::error_code{});
}

}  // namespace nbhub::spawn
