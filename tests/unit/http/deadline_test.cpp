// The DeadlineReaper's timing wheel (http/deadline.cpp): a deadline fires once its due time
// has passed and no more than a tick (plus scheduling) later, is pushed back by each start,
// is brought forward by a shorter start, and shuts down the watched socket of its side. Real
// time and real loopback sockets; the io_context runs on its own thread while the test
// thread arms and polls, as connection strands do.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "http/deadline.hpp"

namespace nbhub::http {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Side = Deadline::Side;

// Generous for a shared 2-core machine; the wheel's own lateness is one tick (10 ms here).
constexpr auto kTick = 10ms;
constexpr auto kSlack = 120ms;

class DeadlineWheel : public ::testing::Test {
 protected:
  DeadlineWheel() : work_(net::make_work_guard(ioc_)), reaper_(ioc_.get_executor(), kTick) {
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~DeadlineWheel() override {
    work_.reset();
    ioc_.stop();
    thread_.join();
  }
  // Polls until `d` expires or `limit` passes: how long that took from `from`.
  static Clock::duration wait_expired(Deadline const& d, Clock::time_point from, Clock::duration limit) {
    while (!d.expired() && Clock::now() - from < limit) std::this_thread::sleep_for(1ms);
    return Clock::now() - from;
  }

  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  DeadlineReaper reaper_;
  std::thread thread_;
};

TEST(DeadlineReaperTick, IsAHundredthOfTheShortestTimeoutWithinBounds) {
  EXPECT_EQ(DeadlineReaper::tick_for(5s), 50ms);
  EXPECT_EQ(DeadlineReaper::tick_for(300s), 100ms);
  EXPECT_EQ(DeadlineReaper::tick_for(100ms), 5ms);
}

TEST_F(DeadlineWheel, FiresWithinATickOfItsDueTime) {
  Deadline d(reaper_);
  auto t0 = Clock::now();
  ASSERT_TRUE(d.start(300ms, Side::client));
  auto took = wait_expired(d, t0, 2s);
  ASSERT_TRUE(d.expired());
  EXPECT_GE(took, 290ms);  // the coarse clock may lag the precise one by a kernel tick
  EXPECT_LE(took, 300ms + kTick + kSlack);
  EXPECT_FALSE(d.start(1s, Side::client)) << "an expired deadline stays expired";
}

TEST_F(DeadlineWheel, EachStartPushesItBackAndDisarmStopsIt) {
  Deadline d(reaper_);
  auto t0 = Clock::now();
  while (Clock::now() - t0 < 600ms) {  // six times its length in all, re-armed every 20 ms
    ASSERT_TRUE(d.start(100ms, Side::upstream));
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_FALSE(d.expired());
  d.disarm();
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(d.expired());
}

TEST_F(DeadlineWheel, AShorterStartBringsItForward) {
  Deadline d(reaper_);
  ASSERT_TRUE(d.start(60s, Side::client));  // an idle connection's wait
  std::this_thread::sleep_for(50ms);        // filed for a minute from now
  auto t0 = Clock::now();
  ASSERT_TRUE(d.start(200ms, Side::client));  // its first byte: the request deadline
  auto took = wait_expired(d, t0, 2s);
  ASSERT_TRUE(d.expired());
  EXPECT_GE(took, 190ms);
  EXPECT_LE(took, 200ms + kTick + kSlack);
}

TEST_F(DeadlineWheel, ManyDeadlinesEachFireOnTime) {
  // Due times spread over several slots and past one turn of nothing else: each fires after
  // its own due time and within the bound, in any order of arming.
  constexpr int kCount = 200;
  std::vector<std::unique_ptr<Deadline>> ds;
  std::vector<Clock::time_point> due;
  auto t0 = Clock::now();
  for (int i = 0; i < kCount; ++i) {
    auto len = std::chrono::milliseconds(100 + (i * 37) % 400);
    ds.push_back(std::make_unique<Deadline>(reaper_));
    due.push_back(Clock::now() + len);
    ASSERT_TRUE(ds.back()->start(len, i % 2 ? Side::client : Side::upstream));
  }
  std::vector<Clock::time_point> fired(kCount);
  int left = kCount;
  while (left > 0 && Clock::now() - t0 < 5s) {
    auto now = Clock::now();
    for (int i = 0; i < kCount; ++i)
      if (fired[i] == Clock::time_point{} && ds[i]->expired()) {
        fired[i] = now;
        --left;
      }
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(left, 0);
  for (int i = 0; i < kCount; ++i) {
    EXPECT_GE(fired[i], due[i] - 10ms) << i;
    EXPECT_LE(fired[i], due[i] + kTick + kSlack) << i;
  }
}

TEST_F(DeadlineWheel, ShutsDownTheSocketOfTheLateSide) {
  net::ip::tcp::acceptor acc(ioc_, {net::ip::make_address("127.0.0.1"), 0});
  net::ip::tcp::socket a(ioc_), b(ioc_), c(ioc_);
  a.connect(acc.local_endpoint());
  acc.accept(b);
  c.connect(acc.local_endpoint());
  net::ip::tcp::socket c_peer(ioc_);
  acc.accept(c_peer);
  Deadline d(reaper_);
  d.watch(&b, &c_peer);
  ASSERT_TRUE(d.start(100ms, Side::upstream));
  char byte;
  boost::system::error_code ec;
  // The upstream side's peer sees the shutdown as an end of file; the client side stays open.
  auto n = c.read_some(net::buffer(&byte, 1), ec);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(ec, net::error::eof);
  EXPECT_TRUE(d.expired());
  ASSERT_EQ(net::write(a, net::buffer("x", 1), ec), 1u);
  EXPECT_EQ(b.read_some(net::buffer(&byte, 1), ec), 1u);
  EXPECT_FALSE(ec);
  d.idle();  // stop watching before the sockets close
}

}  // namespace
}  // namespace nbhub::http
