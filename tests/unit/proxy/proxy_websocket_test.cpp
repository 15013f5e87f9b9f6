// WebSocket pass-through: a real Beast WebSocket client through the proxy to a real Beast
// echo server.
#include <gtest/gtest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>

#include <future>
#include <string_view>

#include <sys/socket.h>

#include "proxy_fixture.hpp"

namespace nbhub::proxy::test {
namespace {

using namespace std::chrono_literals;

class ProxyWebSocket : public ProxyModes {};
INSTANTIATE_TEST_SUITE_P(Threads, ProxyWebSocket, ::testing::Values(1, 2), mode_name);

std::string echo(websocket::stream<tcp::socket>& ws, std::string const& msg, bool text) {
  ws.text(text);
  ws.write(net::buffer(msg));
  beast::flat_buffer b;
  ws.read(b);
  EXPECT_EQ(ws.got_text(), text);
  return beast::buffers_to_string(b.data());
}

TEST_P(ProxyWebSocket, EchoesTextAndBinaryMessages) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  websocket::stream<tcp::socket> ws(h.connect());
  ws.read_message_max(8 * 1024 * 1024);
  ws.handshake("hub.example:8000", "/user/alice/api/kernels/k1/channels?session_id=s&token=t");
  EXPECT_EQ(echo(ws, "hello kernel", true), "hello kernel");
  std::string big(1024 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  EXPECT_EQ(echo(ws, big, false), big);
  EXPECT_EQ(h.proxy().stats().tunnels_open.load(), 1);
  ws.close(websocket::close_code::normal);  // the close handshake passes through both ways

  auto seen = h.backend().last();
  EXPECT_EQ(seen.header("upgrade"), "websocket");
  EXPECT_EQ(seen.header("x-forwarded-for"), "127.0.0.1");
  auto bound = h.proxy().config().tunnel_buffer_bytes;
  EXPECT_LE(h.proxy().stats().peak_buffered_bytes.load(),
            std::max(bound, h.proxy().config().buffer_bytes * 2));
  // The tunnel's access line is written when it ends, without the query.
  for (int i = 0; i < 100 && h.proxy().stats().tunnels_open.load() != 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(h.proxy().stats().tunnels_open.load(), 0);
  auto line = h.access_line_with("GET /user/alice/api/kernels/k1/channels 101");
  EXPECT_NE(line.find("route=/user/alice"), std::string::npos) << line;
}

TEST_P(ProxyWebSocket, TwoTunnelsAtOnce) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  websocket::stream<tcp::socket> a(h.connect()), b(h.connect());
  a.handshake("hub.example:8000", "/user/alice/api/kernels/k1/channels");
  b.handshake("hub.example:8000", "/user/alice/api/kernels/k2/channels");
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(echo(a, "a" + std::to_string(i), true), "a" + std::to_string(i));
    EXPECT_EQ(echo(b, "b" + std::to_string(i), false), "b" + std::to_string(i));
  }
  EXPECT_EQ(h.proxy().stats().tunnels_open.load(), 2);
  a.close(websocket::close_code::normal);
  b.close(websocket::close_code::normal);
}

TEST_P(ProxyWebSocket, OpenTunnelOutlivesItsRoute) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  websocket::stream<tcp::socket> ws(h.connect());
  ws.handshake("hub.example:8000", "/user/alice/terminals/websocket/1");
  EXPECT_EQ(echo(ws, "before", true), "before");
  ASSERT_TRUE(h.routes().remove("/user/alice"));
  EXPECT_EQ(echo(ws, "after", true), "after");
  // New requests no longer match: the listener's router (the hub) answers.
  auto res = h.get("/user/alice/api/status");
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_NE(res.body().find("hub router"), std::string::npos);
  ws.close(websocket::close_code::normal);
}

TEST_P(ProxyWebSocket, UpgradeToADownServerAnswers503) {
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/bob", "http://127.0.0.1:" + std::to_string(closed_port()), {}));
  websocket::stream<tcp::socket> ws(h.connect());
  websocket::response_type res;
  beast::error_code ec;
  ws.handshake(res, "hub.example:8000", "/user/bob/api/kernels/k/channels", ec);
  EXPECT_EQ(ec, websocket::error::upgrade_declined);
  EXPECT_EQ(res.result_int(), 503);
}

TEST_P(ProxyWebSocket, IdleTunnelIsClosed) {
  auto cfg = test_config();
  cfg.idle_timeout = 300ms;
  ProxyHarness h(cfg, nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  websocket::stream<tcp::socket> ws(h.connect());
  ws.handshake("hub.example:8000", "/user/alice/ws");
  EXPECT_EQ(echo(ws, "ping", true), "ping");
  auto t0 = std::chrono::steady_clock::now();
  beast::flat_buffer b;
  beast::error_code ec;
  ws.read(b, ec);  // nothing is sent: the proxy closes the idle tunnel
  EXPECT_TRUE(ec);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST_P(ProxyWebSocket, BurstsOfMixedSizesAllArrive) {
  // On the TunnelLoop a read that comes back short waits for the next epoll edge. Bursts of
  // messages of mixed sizes, some larger than the tunnel's buffer, make reads end short and
  // full in every order; a lost wake-up would stall a connection.
  ProxyHarness h(test_config(), nullptr, threads());
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  std::vector<std::unique_ptr<websocket::stream<tcp::socket>>> conns;
  for (int i = 0; i < 3; ++i) {
    conns.push_back(std::make_unique<websocket::stream<tcp::socket>>(h.connect()));
    beast::get_lowest_layer(*conns.back()).set_option(tcp::no_delay(true));  // no delayed-ACK waits
    conns.back()->binary(true);
    conns.back()->handshake("hub.example:8000", "/user/alice/api/kernels/k" + std::to_string(i) + "/channels");
  }
  auto const bound = h.proxy().config().tunnel_buffer_bytes;
  auto client = std::async(std::launch::async, [&] {
    std::size_t echoed = 0;
    for (int round = 0; round < 30; ++round) {
      for (std::size_t c = 0; c < conns.size(); ++c) {
        std::vector<std::string> burst;
        for (int k = 0; k < 1 + (round + static_cast<int>(c)) % 6; ++k) {
          std::size_t size = (round * 7919 + k * 104729 + c * 31) % (bound + bound / 2) + 1;
          burst.emplace_back(size, static_cast<char>('a' + (round + k) % 26));
          conns[c]->write(net::buffer(burst.back()));
        }
        for (auto const& msg : burst) {
          beast::flat_buffer b;
          conns[c]->read(b);
          if (beast::buffers_to_string(b.data()) != msg) return echoed;
          ++echoed;
        }
      }
    }
    return echoed;
  });
  if (client.wait_for(60s) != std::future_status::ready) {
    for (auto& c : conns) {  // unblock the client thread, then fail
      boost::system::error_code ignored;
      beast::get_lowest_layer(*c).shutdown(tcp::socket::shutdown_both, ignored);
    }
    client.wait();
    FAIL() << "a tunnel stalled";
  }
  std::size_t expected = 0;
  for (int round = 0; round < 30; ++round)
    for (int c = 0; c < 3; ++c) expected += 1 + (round + c) % 6;
  EXPECT_EQ(client.get(), expected);
  for (auto& c : conns) c->close(websocket::close_code::normal);
}

// An upstream that answers the upgrade, then on finish() sends "bye" and its FIN at once,
// and collects what the client sends until the client's FIN.
class FinishingUpstream {
 public:
  FinishingUpstream() : acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)), socket_(ioc_) {
    thread_ = std::thread([this] { serve(); });
  }
  ~FinishingUpstream() {
    finish();  // unblocks serve() if a test failed midway
    ::shutdown(socket_.native_handle(), SHUT_RDWR);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }
  std::future<std::string> rest() { return rest_.get_future(); }
  void finish() {
    if (!finished_) finish_.set_value();
    finished_ = true;
  }

 private:
  void serve() {
    boost::system::error_code ec;
    acceptor_.accept(socket_, ec);
    std::string in;
    if (!ec) net::read_until(socket_, net::dynamic_buffer(in), "\r\n\r\n", ec);
    if (!ec) {
      net::write(socket_, net::buffer(std::string_view(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")), ec);
    }
    finish_.get_future().wait();
    if (!ec) net::write(socket_, net::buffer(std::string_view("bye")), ec);
    if (!ec) socket_.shutdown(tcp::socket::shutdown_send, ec);
    std::string rest;
    net::read(socket_, net::dynamic_buffer(rest), ec);  // until the client's FIN
    rest_.set_value(rest);
  }
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  tcp::socket socket_;
  std::promise<std::string> rest_;
  std::promise<void> finish_;
  bool finished_ = false;
  std::thread thread_;
};

// Everything `s` receives until the peer's FIN; "(timeout)" appended when 3 s pass first.
std::string receive_until_fin(tcp::socket& s) {
  timeval tv{3, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string got;
  char buf[256];
  for (;;) {
    auto n = ::recv(s.native_handle(), buf, sizeof buf, 0);
    if (n == 0) return got;
    if (n < 0) return got + "(timeout)";
    got.append(buf, static_cast<std::size_t>(n));
  }
}

TEST_P(ProxyWebSocket, FinRightAfterTheLastBytesIsPassedOnBothWays) {
  ProxyHarness h(test_config(), nullptr, threads());
  FinishingUpstream up;
  auto rest = up.rest();
  ASSERT_TRUE(h.routes().add("/user/alice", up.url(), {}));
  auto s = h.connect();
  net::write(s, net::buffer(std::string_view(
                    "GET /user/alice/api/kernels/k/channels HTTP/1.1\r\nHost: hub.example:8000\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")));
  std::string head;
  net::read_until(s, net::dynamic_buffer(head), "\r\n\r\n");
  ASSERT_TRUE(head.starts_with("HTTP/1.1 101")) << head;
  // The proxy's thread is held while "bye" and the FIN arrive: one epoll event brings both,
  // and the read that returns "bye" comes back short with no later event to tell of the FIN.
  std::promise<void> held;
  net::post(h.io(), [&] {
    held.set_value();
    std::this_thread::sleep_for(100ms);
  });
  held.get_future().wait();
  up.finish();
  EXPECT_EQ(receive_until_fin(s), "bye");  // the upstream's FIN reached the client
  // The other direction still carries bytes (the close handshake's grace), then the FIN.
  net::write(s, net::buffer(std::string_view("after")));
  s.shutdown(tcp::socket::shutdown_send);
  ASSERT_EQ(rest.wait_for(3s), std::future_status::ready);
  EXPECT_EQ(rest.get(), "after");
  for (int i = 0; i < 100 && h.proxy().stats().tunnels_open.load() != 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(h.proxy().stats().tunnels_open.load(), 0);
}

}  // namespace
}  // namespace nbhub::proxy::test
