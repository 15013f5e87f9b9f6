// The adaptive busy-poll loop: the window's growth and shrinking (pure, no time), and that
// running through it keeps io_context::run()'s contract: every handler runs, from this thread
// or posted from others, and it returns once stopped or out of work.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "http/io_loop.hpp"

namespace nbhub::http {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

TEST(PollWindow, StartsClosedAndGrowsWhilePeriodsAreShort) {
  PollWindow w(40us);
  EXPECT_EQ(w.window(), 0us);
  w.idle_ended(30us);  // within the largest window: polling would have caught it
  EXPECT_EQ(w.window(), 10us);
  w.idle_ended(30us);
  EXPECT_EQ(w.window(), 20us);
  w.idle_ended(30us);
  EXPECT_EQ(w.window(), 40us);
  w.idle_ended(40us);  // never beyond the largest
  EXPECT_EQ(w.window(), 40us);
}

TEST(PollWindow, KeepsItsSizeWhenPollingCaughtTheEvent) {
  PollWindow w(40us);
  w.idle_ended(30us);
  ASSERT_EQ(w.window(), 10us);
  w.idle_ended(4us);
  w.idle_ended(10us);
  EXPECT_EQ(w.window(), 10us);
}

TEST(PollWindow, ShrinksToNothingWhenPeriodsOutlastIt) {
  PollWindow w(64us);
  for (int i = 0; i < 3; ++i) w.idle_ended(60us);
  ASSERT_EQ(w.window(), 64us);
  w.idle_ended(1ms);
  EXPECT_EQ(w.window(), 32us);
  w.idle_ended(1ms);
  w.idle_ended(1ms);
  EXPECT_EQ(w.window(), 8us);
  w.idle_ended(1ms);  // a sixteenth of the largest: the smallest window kept
  EXPECT_EQ(w.window(), 4us);
  w.idle_ended(1ms);  // below it: closed, a quiet hub does not poll
  EXPECT_EQ(w.window(), 0us);
  w.idle_ended(1s);
  EXPECT_EQ(w.window(), 0us);
}

TEST(PollWindow, ZeroNeverPolls) {
  PollWindow w(0us);
  w.idle_ended(1us);
  w.idle_ended(0us);
  EXPECT_EQ(w.window(), 0us);
}

TEST(RunIoContext, RunsEverythingAndReturnsWhenOutOfWork) {
  for (auto max : {0us, 50us}) {
    net::io_context ioc(1);
    int ran = 0;
    net::steady_timer timer(ioc, 2ms);
    timer.async_wait([&](boost::system::error_code ec) { ran += ec ? 0 : 10; });
    for (int i = 0; i < 3; ++i) net::post(ioc, [&] { ++ran; });
    run_io_context(ioc, max);
    EXPECT_EQ(ran, 13) << max.count();
    EXPECT_TRUE(ioc.stopped());
  }
}

TEST(RunIoContext, RunsHandlersPostedFromOtherThreadsAndStops) {
  net::io_context ioc(1);
  auto work = net::make_work_guard(ioc);
  std::atomic<int> ran{0};
  std::thread runner([&] { run_io_context(ioc, 50us); });
  // Gaps both inside and beyond the window, so that it grows and shrinks on the way.
  for (int i = 0; i < 200; ++i) {
    net::post(ioc, [&] { ran.fetch_add(1); });
    std::this_thread::sleep_for(i % 50 < 40 ? 10us : 300us);
  }
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (ran.load() < 200 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(ran.load(), 200);
  ioc.stop();
  runner.join();  // returns although the work guard is still held
  EXPECT_TRUE(ioc.stopped());
}

}  // namespace
}  // namespace nbhub::http
