// WebSocket pass-through: a real Beast WebSocket client through the proxy to a real Beast
// echo server.
#include <gtest/gtest.h>

#include <future>

#include "proxy_fixture.hpp"

namespace nbhub::proxy::test {
namespace {

using namespace std::chrono_literals;

std::string echo(websocket::stream<tcp::socket>& ws, std::string const& msg, bool text) {
  ws.text(text);
  ws.write(net::buffer(msg));
  beast::flat_buffer b;
  ws.read(b);
  EXPECT_EQ(ws.got_text(), text);
  return beast::buffers_to_string(b.data());
}

TEST(ProxyWebSocket, EchoesTextAndBinaryMessages) {
  ProxyHarness h;
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

TEST(ProxyWebSocket, TunnelsOnASingleThread) {
  ProxyHarness h(test_config(), nullptr, 1);
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

TEST(ProxyWebSocket, OpenTunnelOutlivesItsRoute) {
  ProxyHarness h;
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

TEST(ProxyWebSocket, UpgradeToADownServerAnswers503) {
  ProxyHarness h;
  ASSERT_TRUE(h.routes().add("/user/bob", "http://127.0.0.1:" + std::to_string(closed_port()), {}));
  websocket::stream<tcp::socket> ws(h.connect());
  websocket::response_type res;
  beast::error_code ec;
  ws.handshake(res, "hub.example:8000", "/user/bob/api/kernels/k/channels", ec);
  EXPECT_EQ(ec, websocket::error::upgrade_declined);
  EXPECT_EQ(res.result_int(), 503);
}

TEST(ProxyWebSocket, IdleTunnelIsClosed) {
  auto cfg = test_config();
  cfg.idle_timeout = 300ms;
  ProxyHarness h(cfg);
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

TEST(ProxyWebSocket, BurstsOnASingleThreadAllArrive) {
  // One thread: the tunnel marks sockets drained after short reads (http/drained_read.hpp).
  // Bursts of messages of mixed sizes, some larger than the tunnel's buffer, make reads end
  // short and full in every order; a lost wake-up would stall a connection.
  ProxyHarness h(test_config(), nullptr, 1);
  ASSERT_TRUE(h.routes().add("/user/alice", h.backend().url(), {}));
  std::vector<std::unique_ptr<websocket::stream<tcp::socket>>> conns;
  for (int i = 0; i < 3; ++i) {
    conns.push_back(std::make_unique<websocket::stream<tcp::socket>>(h.connect()));
    conns.back()->binary(true);
    conns.back()->handshake("hub.example:8000", "/user/alice/api/kernels/k" + std::to_string(i) + "/channels");
  }
  auto const bound = h.proxy().config().tunnel_buffer_bytes;
  auto client = std::async(std::launch::async, [&] {
    std::size_t echoed = 0;
    for (int round = 0; round < 60; ++round) {
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
  for (int round = 0; round < 60; ++round)
    for (int c = 0; c < 3; ++c) expected += 1 + (round + c) % 6;
  EXPECT_EQ(client.get(), expected);
  for (auto& c : conns) c->close(websocket::close_code::normal);
}

}  // namespace
}  // namespace nbhub::proxy::test
