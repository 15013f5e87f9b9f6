// http/drained_read: where marking a socket drained is allowed, and that a read started
// after the mark still sees every byte that arrives later, however it is timed against the
// reactor's epoll harvests.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/version.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>

#include "http/drained_read.hpp"
#include "http/listener.hpp"

namespace nbhub::http {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr bool kReactorKnown = BOOST_VERSION / 100 == 1081;

TEST(DrainedRead, SoundOnlyOnASingleThreadedIoContextWithoutStrand) {
  net::io_context one(io_concurrency_hint(1));
  net::io_context many(io_concurrency_hint(2));
  EXPECT_EQ(drained_reads_sound(one.get_executor()), kReactorKnown);
  EXPECT_FALSE(drained_reads_sound(net::make_strand(one)));  // a strand may queue a completion again
  EXPECT_FALSE(drained_reads_sound(many.get_executor()));    // locked reactor: several threads
  net::io_context plain;
  EXPECT_FALSE(drained_reads_sound(plain.get_executor()));
}

// A connected pair: `near` on `ioc`, `far` a blocking socket for the test thread.
struct Pair {
  explicit Pair(net::io_context& ioc) : near(ioc), far(other) {
    tcp::acceptor acc(other, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    far.connect(acc.local_endpoint());
    acc.accept(near);
  }
  net::io_context other;
  tcp::socket near;
  tcp::socket far;
};

// Reads on `near` until `expected` bytes came, marking the socket drained after every short
// read, from the read's own completion handler (the one place the mark is allowed).
struct Reader {
  tcp::socket& s;
  std::size_t expected;
  std::string got;
  std::array<char, 64> buf{};
  int drained_marks = 0;

  void start() {
    s.async_read_some(net::buffer(buf), [this](boost::system::error_code ec, std::size_t n) {
      ASSERT_FALSE(ec) << ec.message();
      got.append(buf.data(), n);
      if (n < buf.size()) {
        mark_read_drained(s);
        ++drained_marks;
      }
      if (got.size() < expected) start();
    });
  }
};

TEST(DrainedRead, ReadsAfterTheMarkSeeEveryLaterByte) {
  net::io_context ioc(io_concurrency_hint(1));
  Pair p(ioc);
  // Bytes come in single writes, bursts and pauses from another thread, so that they race
  // the reader's handlers and the reactor's harvests in every order.
  std::string sent;
  for (int i = 0; i < 20000; ++i) sent += static_cast<char>('a' + i % 26);
  Reader r{p.near, sent.size()};
  r.start();
  std::thread writer([&] {
    std::size_t at = 0;
    for (int i = 0; at < sent.size(); ++i) {
      std::size_t n = std::min<std::size_t>(sent.size() - at, 1 + (i * 7) % 150);
      net::write(p.far, net::buffer(sent.data() + at, n));
      at += n;
      if (i % 5 == 0) std::this_thread::sleep_for(200us);
    }
  });
  // Bounded: a lost wake-up leaves the reader waiting, and run_for returns.
  auto until = std::chrono::steady_clock::now() + 20s;
  while (r.got.size() < sent.size() && std::chrono::steady_clock::now() < until) ioc.run_for(50ms);
  writer.join();
  EXPECT_EQ(r.got, sent);
  if (kReactorKnown) {
    EXPECT_GT(r.drained_marks, 0);
  }
}

TEST(DrainedRead, AReadStartedLaterStillSeesBytesThatCameMeanwhile) {
  net::io_context ioc(io_concurrency_hint(1));
  Pair p(ioc);
  Reader first{p.near, 3};
  net::write(p.far, net::buffer("abc", 3));
  first.start();
  ioc.run_for(2s);  // returns when the read is done: nothing else is pending
  ioc.restart();
  ASSERT_EQ(first.got, "abc");
  // Bytes arrive while no read is pending; the next read, started afterwards, gets them.
  net::write(p.far, net::buffer("defg", 4));
  std::this_thread::sleep_for(20ms);
  net::steady_timer tick(ioc, 10ms);  // work, so that the reactor runs and harvests the edge
  tick.async_wait([](boost::system::error_code) {});
  ioc.run_for(1s);
  ioc.restart();
  Reader second{p.near, 4};
  second.start();
  ioc.run_for(2s);
  EXPECT_EQ(second.got, "defg");
}

}  // namespace
}  // namespace nbhub::http
