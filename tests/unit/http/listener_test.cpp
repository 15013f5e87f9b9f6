// The listener's request-head reading over real loopback sockets: keep-alive and pipelining,
// the idle and request deadlines (enforced by the DeadlineReaper, not a timer per read), the
// head size limit, and a close in the middle of a head.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "http/listener.hpp"
#include "http/router.hpp"

namespace nbhub::http {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// Gives its pieces one by one, each after 20 ms, then the end.
class Pieces final : public BodyStream {
 public:
  explicit Pieces(std::vector<std::string> pieces) : pieces_(std::move(pieces)) {}
  net::awaitable<std::optional<std::string>> next() override {
    net::steady_timer pause(co_await net::this_coro::executor, 20ms);
    co_await pause.async_wait(net::use_awaitable);
    if (at_ == pieces_.size()) co_return std::nullopt;
    co_return pieces_[at_++];
  }

 private:
  std::vector<std::string> pieces_;
  std::size_t at_ = 0;
};

class ListenerTest : public ::testing::Test {
 protected:
  void start(config::HttpLimits limits) {
    router_.get("/hello", [](Context&) -> net::awaitable<Response> { co_return json_response(200, R"({"hi":1})"); });
    // A body of three pieces, each produced after a pause (the shape of a progress stream).
    router_.get("/stream", [](Context& ctx) -> net::awaitable<Response> {
      ctx.body_stream = std::make_shared<Pieces>(std::vector<std::string>{"data: 1\n\n", "", "data: 2\n\n"});
      co_return text_response(200, "", "text/event-stream");
    });
    // Answers with the size of the body it was given.
    router_.post("/echo", [this](Context& ctx) -> net::awaitable<Response> {
      ++echo_calls_;
      co_return json_response(200, std::to_string(ctx.req.body().size()));
    });
    listener_ = std::make_shared<Listener>(ioc_, router_, ListenerOptions{.limits = limits, .name = "test"}, log_, log_);
    listener_->bind("127.0.0.1", 0);
    listener_->start();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  tcp::socket connect() {
    tcp::socket s(client_ioc_);
    s.connect({net::ip::make_address("127.0.0.1"), listener_->port()});
    return s;
  }
  // Everything the server sends until it closes (or `limit` elapses: then "TIMEOUT").
  static std::string read_to_close(tcp::socket& s, std::chrono::milliseconds limit = 5s) {
    s.non_blocking(false);
    timeval tv{static_cast<time_t>(limit.count() / 1000), static_cast<suseconds_t>(limit.count() % 1000 * 1000)};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[4096];
    for (;;) {
      auto n = ::recv(s.native_handle(), buf, sizeof buf, 0);
      if (n > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return out + "TIMEOUT";
      return out;
    }
  }
  // Sends `bytes` on a new connection, then reads until the server closes it.
  struct Closed {
    std::string got;
    std::chrono::steady_clock::duration waited;
  };
  Closed send_and_wait_for_close(std::string_view bytes) {
    auto s = connect();
    net::write(s, net::buffer(bytes));
    auto t0 = std::chrono::steady_clock::now();
    auto got = read_to_close(s, 10s);
    return {got, std::chrono::steady_clock::now() - t0};
  }
  static std::size_t count(std::string const& s, std::string_view what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
  }

  net::io_context ioc_{1};
  net::io_context client_ioc_;
  spdlog::logger log_{"test", std::make_shared<spdlog::sinks::null_sink_mt>()};
  Router router_;
  std::shared_ptr<Listener> listener_;
  std::thread thread_;
  std::atomic<int> echo_calls_{0};
};

TEST_F(ListenerTest, PipelinedRequestsOnOneConnectionAreAllAnswered) {
  start({});
  auto s = connect();
  std::string two = "GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  net::write(s, net::buffer(two));
  auto got = read_to_close(s);
  EXPECT_EQ(count(got, "HTTP/1.1 200 OK"), 2u) << got;
  EXPECT_EQ(got.find("TIMEOUT"), std::string::npos);
}

TEST_F(ListenerTest, HeadArrivingByteByByteIsParsed) {
  start({});
  auto s = connect();
  std::string req = "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  for (char c : req) {
    net::write(s, net::buffer(&c, 1));
    std::this_thread::sleep_for(1ms);
  }
  auto got = read_to_close(s);
  EXPECT_NE(got.find("HTTP/1.1 200 OK"), std::string::npos) << got;
}

TEST_F(ListenerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  config::HttpLimits l;
  l.idle_timeout = 1s;
  start(l);
  auto [got, waited] = send_and_wait_for_close("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_NE(got.find("200 OK"), std::string::npos);
  EXPECT_EQ(got.find("TIMEOUT"), std::string::npos) << "the idle connection was never closed";
  EXPECT_GE(waited, 900ms);
  EXPECT_LT(waited, 5s);
}

TEST_F(ListenerTest, HeadThatNeverEndsIsCutAtRequestTimeout) {
  config::HttpLimits l;
  l.idle_timeout = 60s;  // the request deadline, not the idle one, applies once bytes arrived
  l.request_timeout = 1s;
  start(l);
  auto [got, waited] = send_and_wait_for_close("GET /hello HTTP/1.1\r\nHost: a\r\n");
  EXPECT_EQ(got, "") << "no response to half a head, only the close";
  EXPECT_LT(waited, 5s);
}

TEST_F(ListenerTest, OversizedHeadGets431) {
  config::HttpLimits l;
  l.header_limit_bytes = 1024;
  start(l);
  auto s = connect();
  std::string req = "GET /hello HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(4000, 'x') + "\r\n\r\n";
  boost::system::error_code ec;
  net::write(s, net::buffer(req), ec);  // the server may close before taking it all
  auto got = read_to_close(s);
  EXPECT_NE(got.find("HTTP/1.1 431"), std::string::npos) << got;
}

// The head is read without a body limit (the proxy streams any size); the hub's routes must
// still refuse a body over http.body_limit_bytes, announced by Content-Length or chunked.
TEST_F(ListenerTest, ContentLengthOverTheBodyLimitGets413) {
  config::HttpLimits l;
  l.body_limit_bytes = 1024;
  start(l);
  // Announced and sent: refused, the handler never sees it.
  auto got = send_and_wait_for_close("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4096\r\n\r\n" +
                                     std::string(4096, 'x')).got;
  EXPECT_NE(got.find("HTTP/1.1 413"), std::string::npos) << got;
  // Announced only (100 GB): refused at once, before any of it arrives or is reserved.
  auto huge = send_and_wait_for_close("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000000\r\n\r\n");
  EXPECT_NE(huge.got.find("HTTP/1.1 413"), std::string::npos) << huge.got;
  EXPECT_LT(huge.waited, 2s);
  EXPECT_EQ(echo_calls_.load(), 0);
}

TEST_F(ListenerTest, ChunkedBodyOverTheBodyLimitGets413) {
  config::HttpLimits l;
  l.body_limit_bytes = 1024;
  start(l);
  std::string req = "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) req += "100\r\n" + std::string(256, 'x') + "\r\n";
  req += "0\r\n\r\n";
  auto got = send_and_wait_for_close(req).got;
  EXPECT_NE(got.find("HTTP/1.1 413"), std::string::npos) << got;
  EXPECT_EQ(echo_calls_.load(), 0);
}

TEST_F(ListenerTest, BodiesWithinTheLimitReachTheHandler) {
  config::HttpLimits l;
  l.body_limit_bytes = 1024;
  start(l);
  auto got = send_and_wait_for_close(
                 "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 'x') +
                 "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                 "200\r\n" + std::string(512, 'y') + "\r\n1ff\r\n" + std::string(511, 'z') + "\r\n0\r\n\r\n")
                 .got;
  EXPECT_EQ(count(got, "HTTP/1.1 200 OK"), 2u) << got;
  EXPECT_EQ(count(got, "\r\n\r\n1024"), 1u) << got;
  EXPECT_EQ(count(got, "\r\n\r\n1023"), 1u) << got;
  EXPECT_EQ(echo_calls_.load(), 2);
}

TEST_F(ListenerTest, HalfCloseInsideAHeadGets400AndTheClose) {
  start({});
  auto s = connect();
  net::write(s, net::buffer(std::string_view("GET /hello HTTP/1.1\r\nHo")));
  s.shutdown(tcp::socket::shutdown_send);
  auto got = read_to_close(s);
  EXPECT_NE(got.find("HTTP/1.1 400"), std::string::npos) << got;
  EXPECT_EQ(got.find("TIMEOUT"), std::string::npos);
}

TEST_F(ListenerTest, MalformedHeadGets400) {
  start({});
  auto s = connect();
  net::write(s, net::buffer(std::string_view("GET /hello HTTP/1.1\r\nBad Header\r\n\r\n")));
  auto got = read_to_close(s);
  EXPECT_NE(got.find("HTTP/1.1 400"), std::string::npos) << got;
}

}  // namespace
}  // namespace nbhub::http

namespace nbhub::http {
namespace {

TEST_F(ListenerTest, StreamedBodyIsSentChunkedAndTheConnectionStaysUsable) {
  start({});
  auto s = connect();
  std::string two = "GET /stream HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  net::write(s, net::buffer(two));
  auto got = read_to_close(s);
  EXPECT_NE(got.find("Transfer-Encoding: chunked"), std::string::npos) << got;
  // Each piece is its own chunk (the empty one is skipped: a zero-size chunk would end the body),
  // then the last chunk, then the next response on the same connection.
  auto body = got.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  EXPECT_EQ(got.substr(body + 4, got.find("HTTP/1.1 200", body) - body - 4), "9\r\ndata: 1\n\n\r\n9\r\ndata: 2\n\n\r\n0\r\n\r\n") << got;
  EXPECT_EQ(count(got, "HTTP/1.1 200 OK"), 2u) << got;
}

TEST_F(ListenerTest, StreamedBodyToHttp10EndsWithTheConnection) {
  start({});
  auto s = connect();
  net::write(s, net::buffer(std::string_view("GET /stream HTTP/1.0\r\n\r\n")));
  auto got = read_to_close(s);
  EXPECT_EQ(got.find("chunked"), std::string::npos) << got;
  EXPECT_EQ(got.substr(got.find("\r\n\r\n") + 4), "data: 1\n\ndata: 2\n\n") << got;
}

}  // namespace
}  // namespace nbhub::http
