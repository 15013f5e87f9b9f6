// JobLease (hub/job_lease.hpp): which replica runs a job, over the real SQLite store. Two
// JobLease objects on one store stand for two replicas on one database (the PostgreSQL race of
// the underlying take_lease is store_test's Leases.ConcurrentTakersOnOneDatabaseHaveExactlyOneWinner).
#include "hub/job_lease.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "store/store.hpp"
#include "unit/jwt/fake_http_client.hpp"  // run_sync

namespace nbhub::hub {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using jwt::test::run_sync;

spdlog::logger& quiet() {
  static auto l = std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>());
  return *l;
}

struct Rig {
  FakeClock clock{Clock::SysTime{} + std::chrono::seconds{1767225600}};
  std::unique_ptr<store::Store> st;
  net::thread_pool pool{2};
  Rig() {
    st = std::move(*store::Store::open("sqlite://", clock));
    EXPECT_TRUE(st->migrate());
  }
  ~Rig() { pool.join(); }
  std::unique_ptr<JobLease> lease(std::string holder, Clock const& c, LeaseTiming t = {15s, 5s}) {
    return std::make_unique<JobLease>("culler", *st, std::move(holder), c, pool, quiet(), t);
  }
};

TEST(JobLease, OneReplicaHoldsTheJobAndAnotherTakesItWhenTheHolderStopsRenewing) {
  Rig r;
  auto a = r.lease("replica-a", r.clock);
  auto b = r.lease("replica-b", r.clock);
  EXPECT_EQ(a->lease_name(), "job culler");
  EXPECT_TRUE(run_sync(a->renew_once()));
  EXPECT_FALSE(run_sync(b->renew_once()));
  EXPECT_TRUE(a->held());
  EXPECT_FALSE(b->held());
  r.clock.advance(5s);  // a renews on time: b keeps losing
  EXPECT_TRUE(run_sync(a->renew_once()));
  r.clock.advance(14s);
  EXPECT_FALSE(run_sync(b->renew_once()));
  r.clock.advance(1s);  // a died 15 s ago (its last renewal): the lease ran out
  EXPECT_TRUE(run_sync(b->renew_once()));
  EXPECT_TRUE(b->held());
  EXPECT_FALSE(run_sync(a->renew_once()));  // a comes back: it no longer runs the job
  EXPECT_FALSE(a->held());
  EXPECT_EQ((*r.st->get_lease("job culler"))->holder, "replica-b");
}

TEST(JobLease, ReleaseAtShutdownHandsTheJobOverAtOnce) {
  Rig r;
  auto a = r.lease("replica-a", r.clock);
  auto b = r.lease("replica-b", r.clock);
  EXPECT_TRUE(run_sync(a->renew_once()));
  EXPECT_FALSE(run_sync(b->renew_once()));
  a->release_blocking();
  EXPECT_FALSE(a->held());
  EXPECT_TRUE(run_sync(b->renew_once()));  // no wait for the TTL
}

TEST(JobLease, ReplicaCutOffFromTheStoreStopsRunningTheJob) {
  Rig r;
  auto a = r.lease("replica-a", r.clock);
  EXPECT_TRUE(run_sync(a->renew_once()));
  // The database refuses: a stand-in holder name the store rejects makes take_lease fail.
  JobLease broken("culler", *r.st, "", r.clock, r.pool, quiet());
  EXPECT_FALSE(run_sync(broken.renew_once()));
  EXPECT_FALSE(broken.held());
}

// keep() and run_while_held() on a real clock: of two replicas exactly one runs rounds; when it
// stops (a clean shutdown), the other takes over within one renewal.
TEST(JobLease, KeepLoopsRunRoundsOnlyOnTheHolder) {
  Rig r;
  SystemClock real;
  LeaseTiming fast{2s, 50ms};
  auto a = r.lease("replica-a", real, fast);
  auto b = r.lease("replica-b", real, fast);
  net::io_context ioc;
  int rounds_a = 0, rounds_b = 0;
  net::co_spawn(ioc, a->keep(), net::detached);
  net::co_spawn(ioc, [&]() -> net::awaitable<void> {
    // b starts a little later, so a wins the first try.
    net::steady_timer t(ioc, 20ms);
    co_await t.async_wait(net::use_awaitable);
    co_await b->keep();
  }, net::detached);
  net::co_spawn(ioc, run_while_held(*a, [] { return 1s; }, [&]() -> net::awaitable<void> { ++rounds_a; co_return; }),
                net::detached);
  net::co_spawn(ioc, run_while_held(*b, [] { return 1s; }, [&]() -> net::awaitable<void> { ++rounds_b; co_return; }),
                net::detached);
  bool b_took_over = false;
  net::co_spawn(ioc, [&]() -> net::awaitable<void> {
    net::steady_timer t(ioc, 1200ms);
    co_await t.async_wait(net::use_awaitable);
    EXPECT_TRUE(a->held());
    EXPECT_FALSE(b->held());
    a->stop();  // releases the lease at its next wake-up
    for (int i = 0; i < 40 && !b->held(); ++i) {
      t.expires_after(25ms);
      co_await t.async_wait(net::use_awaitable);
    }
    b_took_over = b->held();
    t.expires_after(1100ms);
    co_await t.async_wait(net::use_awaitable);
    b->stop();
    t.expires_after(100ms);
    co_await t.async_wait(net::use_awaitable);
    ioc.stop();
  }, net::detached);
  ioc.run();
  EXPECT_TRUE(b_took_over);
  EXPECT_EQ(rounds_a, 1);
  EXPECT_GE(rounds_b, 1);
  EXPECT_FALSE(r.st->get_lease("job culler")->has_value());  // b released it too
}

// follow_lease() (managed services, the watch's reactions): `gained` once when the replica
// comes to hold the lease, `lost` once when it no longer does, and nothing in between.
TEST(JobLease, FollowLeaseCallsGainedAndLostOnTheEdges) {
  Rig r;
  SystemClock real;
  LeaseTiming fast{2s, 30ms};
  auto a = r.lease("replica-a", real, fast);
  auto b = r.lease("replica-b", real, fast);
  net::io_context ioc;
  std::vector<std::string> seen;
  auto note = [&seen](std::string what) {
    return [&seen, what]() -> net::awaitable<void> {
      seen.push_back(what);
      co_return;
    };
  };
  EXPECT_TRUE(run_sync(b->renew_once()));  // b holds it first: a waits
  net::co_spawn(ioc, a->keep(), net::detached);
  net::co_spawn(ioc, follow_lease(*a, 10ms, note("gained"), note("lost")), net::detached);
  net::co_spawn(ioc, [&]() -> net::awaitable<void> {
    net::steady_timer t(ioc, 200ms);
    co_await t.async_wait(net::use_awaitable);
    EXPECT_TRUE(seen.empty());  // not held yet: neither called
    b->release_blocking();      // b shuts down: a takes the job at its next try
    t.expires_after(200ms);
    co_await t.async_wait(net::use_awaitable);
    EXPECT_EQ(seen, std::vector<std::string>{"gained"});
    // The lease is taken from a (as when a is cut off and its lease ran out).
    EXPECT_TRUE(r.st->release_lease("job culler", "replica-a").has_value());
    EXPECT_TRUE(run_sync(b->renew_once()));
    t.expires_after(200ms);
    co_await t.async_wait(net::use_awaitable);
    a->stop();
    t.expires_after(100ms);
    co_await t.async_wait(net::use_awaitable);
    ioc.stop();
  }, net::detached);
  ioc.run();
  EXPECT_EQ(seen, (std::vector<std::string>{"gained", "lost"}));
}

}  // namespace
}  // namespace nbhub::hub
