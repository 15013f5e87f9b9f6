#pragma once
// Real sockets on loopback for the proxy tests: a Beast backend (HTTP with streaming bodies,
// and a WebSocket echo) and the proxy behind a real http::Listener, all on one io_context run
// by two background threads; the test thread talks to them with blocking Beast clients.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "http/listener.hpp"
#include "http/router.hpp"
#include "proxy/proxy.hpp"
#include "proxy/route_table.hpp"

namespace nbhub::proxy::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;

inline auto log_exception(char const* what) {
  return [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (std::exception const& ex) {
      std::fprintf(stderr, "%s: %s\n", what, ex.what());
    }
  };
}

// What the backend saw of one request.
struct Seen {
  int connection = 0;
  std::string method, target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::uint64_t body_bytes = 0;
  std::uint64_t body_hash = 0;  // FNV-1a over the body
  std::string body_prefix;      // first bytes of the body
  std::string header(std::string const& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? std::string() : it->second;
  }
};

inline std::uint64_t fnv1a(std::uint64_t h, char const* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * 1099511628211ull;
  return h;
}
constexpr std::uint64_t kFnvSeed = 1469598103934665603ull;

// The byte at offset i of a generated download.
inline char pattern(std::uint64_t i) { return static_cast<char>('a' + (i * 7 + i / 4096) % 26); }

// The backend. Paths (after any route prefix): /hello, /chunked, /big?n=BYTES, /slow,
// /close (no length, ends by closing), /hop (hop-by-hop fields in the response), /ws
// (WebSocket echo); anything else echoes what it saw as text. Request bodies are streamed and hashed, never
// held.
class Backend {
 public:
  explicit Backend(net::io_context& ioc) : ioc_(ioc), acceptor_(ioc) {
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    net::co_spawn(ioc_, accept_loop(), log_exception("backend accept"));
  }
  void stop() {
    net::post(acceptor_.get_executor(), [this] { acceptor_.close(); });
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url(std::string const& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }
  int connections() const { return connections_; }
  std::uint64_t big_bytes_sent() const { return big_sent_; }
  int big_downloads_ended() const { return big_done_; }
  std::vector<Seen> seen() const {
    std::lock_guard l(mu_);
    return seen_;
  }
  Seen last() const {
    std::lock_guard l(mu_);
    return seen_.empty() ? Seen{} : seen_.back();
  }

 private:
  net::awaitable<void> accept_loop() {
    for (;;) {
      beast::error_code ec;
      auto sock = co_await acceptor_.async_accept(net::redirect_error(net::use_awaitable, ec));
      if (ec) co_return;
      int id = connections_++;
      net::co_spawn(ioc_, session(std::move(sock), id), log_exception("backend session"));
    }
  }

  static bool ends_with_path(std::string const& target, std::string_view p) {
    auto path = std::string_view(target).substr(0, target.find('?'));
    return path.ends_with(p);
  }

  net::awaitable<void> session(tcp::socket sock, int id) {
    beast::error_code ec;
    beast::flat_buffer buf;
    std::vector<char> chunk(64 * 1024);
    for (;;) {
      bhttp::request_parser<bhttp::buffer_body> p;
      p.body_limit(boost::none);
      co_await bhttp::async_read_header(sock, buf, p, net::redirect_error(net::use_awaitable, ec));
      if (ec) co_return;
      Seen s;
      s.connection = id;
      s.method = std::string(p.get().method_string());
      s.target = std::string(p.get().target());
      for (auto const& f : p.get()) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        s.headers[name] = std::string(f.value());
      }
      if (websocket::is_upgrade(p.get())) {
        {
          std::lock_guard l(mu_);
          seen_.push_back(s);
        }
        co_await echo_websocket(std::move(sock), buf, p.release());
        co_return;
      }
      s.body_hash = kFnvSeed;
      while (!p.is_done()) {
        p.get().body().data = chunk.data();
        p.get().body().size = chunk.size();
        co_await bhttp::async_read(sock, buf, p, net::redirect_error(net::use_awaitable, ec));
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec) co_return;
        auto n = chunk.size() - p.get().body().size;
        if (s.body_prefix.size() < 64) s.body_prefix.append(chunk.data(), std::min<std::size_t>(n, 64));
        s.body_bytes += n;
        s.body_hash = fnv1a(s.body_hash, chunk.data(), n);
      }
      {
        std::lock_guard l(mu_);
        seen_.push_back(s);
      }
      bool keep = p.keep_alive();
      std::string const& t = s.target;
      if (ends_with_path(t, "/big")) {
        co_await send_big(sock, std::stoull(t.substr(t.find("n=") + 2)));
        if (!keep) co_return;
        continue;
      }
      std::string raw;
      if (ends_with_path(t, "/chunked")) {
        raw =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
            "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
      } else if (ends_with_path(t, "/hop")) {
        raw =
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Backend-Hop\r\nX-Backend-Hop: secret\r\n"
            "Keep-Alive: timeout=5\r\nX-End-To-End: yes\r\nContent-Length: 3\r\n\r\nhop";
      } else if (ends_with_path(t, "/close")) {
        raw = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil the end";
        keep = false;
      } else if (ends_with_path(t, "/slow")) {
        net::steady_timer timer(sock.get_executor(), std::chrono::seconds(2));
        co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
        raw = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow";
      } else {
        std::string body =
            ends_with_path(t, "/hello")
                ? "hello"
                : s.method + " " + t + " " + std::to_string(s.body_bytes) + " " + std::to_string(s.body_hash);
        raw =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\nX-Backend-Conn: " + std::to_string(id) + "\r\n" + (keep ? "" : "Connection: close\r\n") +
            "\r\n" + (s.method == "HEAD" ? "" : body);
      }
      co_await net::async_write(sock, net::buffer(raw), net::redirect_error(net::use_awaitable, ec));
      if (ec || !keep) {
        sock.shutdown(tcp::socket::shutdown_send, ec);
        co_return;
      }
    }
  }

  net::awaitable<void> send_big(tcp::socket& sock, std::uint64_t n) {
    beast::error_code ec;
    auto head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(n) +
        "\r\n\r\n";
    co_await net::async_write(sock, net::buffer(head), net::redirect_error(net::use_awaitable, ec));
    std::vector<char> block(64 * 1024);
    std::uint64_t off = 0;
    while (!ec && off < n) {
      auto len = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), n - off));
      for (std::size_t i = 0; i < len; ++i) block[i] = pattern(off + i);
      co_await net::async_write(sock, net::buffer(block.data(), len),
                                net::redirect_error(net::use_awaitable, ec));
      off += len;
      big_sent_ = off;
    }
    ++big_done_;
  }

  // Early frames (bytes after the handshake in `buf`) would be lost here; the tests send none.
  net::awaitable<void> echo_websocket(tcp::socket sock, beast::flat_buffer&,
                                      bhttp::request<bhttp::buffer_body> req) {
    websocket::stream<tcp::socket> ws(std::move(sock));
    ws.read_message_max(8 * 1024 * 1024);
    beast::error_code ec;
    co_await ws.async_accept(req, net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    beast::flat_buffer msg;
    for (;;) {
      co_await ws.async_read(msg, net::redirect_error(net::use_awaitable, ec));
      if (ec) co_return;
      ws.text(ws.got_text());
      co_await ws.async_write(msg.data(), net::redirect_error(net::use_awaitable, ec));
      if (ec) co_return;
      msg.consume(msg.size());
    }
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::atomic<int> connections_{0};
  std::atomic<std::uint64_t> big_sent_{0};
  std::atomic<int> big_done_{0};
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
};

// A port that refuses connections: bound, then closed.
inline std::uint16_t closed_port() {
  net::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

inline ProxyConfig test_config() {
  ProxyConfig c;
  c.connect_timeout = std::chrono::milliseconds(1000);
  c.response_header_timeout = std::chrono::milliseconds(1000);
  c.stall_timeout = std::chrono::milliseconds(5000);
  c.idle_timeout = std::chrono::milliseconds(5000);
  c.close_grace = std::chrono::milliseconds(500);
  c.claim_default_route = true;
  return c;
}

// The proxy behind a real listener, with a router standing in for the hub. With `threads`
// = 1 the listener runs as `nbhub proxy --threads 1` does: no strand per connection.
class ProxyHarness {
 public:
  explicit ProxyHarness(ProxyConfig cfg = test_config(), Clock const* clock = nullptr, int threads = 2)
      : ioc_(http::io_concurrency_hint(static_cast<unsigned>(threads))),
        clock_(clock ? *clock : system_clock_),
        access_sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64)),
        access_("access", access_sink_),
        log_("proxy", std::make_shared<spdlog::sinks::null_sink_mt>()),
        routes_(clock_),
        backend_(ioc_),
        proxy_(ioc_.get_executor(), std::move(cfg), routes_, clock_, access_, log_) {
    router_.fallback([](http::Context&) -> net::awaitable<http::Response> {
      co_return http::json_error(404, "served by the hub router");
    });
    http::ListenerOptions opts;
    opts.interceptor = &proxy_;
    opts.name = "test";
    opts.single_thread = threads == 1;
    listener_ = std::make_shared<http::Listener>(ioc_, router_, opts, access_, log_);
    listener_->bind("127.0.0.1", 0);
    listener_->start();
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~ProxyHarness() {
    ioc_.stop();
    for (auto& t : threads_) t.join();
  }

  std::uint16_t port() const { return listener_->port(); }
  Backend& backend() { return backend_; }
  RouteTable& routes() { return routes_; }
  Proxy& proxy() { return proxy_; }
  net::io_context& io() { return ioc_; }  // the proxy's (and the backend's) io_context
  std::vector<std::string> access_lines() { return access_sink_->last_formatted(); }
  // The access line is written after the response has gone out: wait (bounded) for it.
  std::string access_line_with(std::string const& text) {
    for (int i = 0; i < 200; ++i) {
      for (auto const& l : access_lines())
        if (l.find(text) != std::string::npos) return l;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return "(no access line with '" + text + "')";
  }

  // A blocking connection to the proxy.
  tcp::socket connect() {
    tcp::socket s(client_ioc_);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port()));
    return s;
  }
  bhttp::response<bhttp::string_body> request(tcp::socket& s, bhttp::request<bhttp::string_body> req) {
    if (req.find(bhttp::field::host) == req.end()) req.set(bhttp::field::host, "hub.example:8000");
    req.prepare_payload();
    bhttp::write(s, req);
    beast::flat_buffer b;
    for (;;) {  // interim 1xx responses (100 Continue) are skipped, as a browser does
      bhttp::response<bhttp::string_body> res;
      bhttp::read(s, b, res);
      if (res.result_int() >= 200 || res.result_int() == 101) return res;
      interim_.push_back(res.result_int());
    }
  }
  bhttp::response<bhttp::string_body> get(std::string const& target, std::string accept = "") {
    auto s = connect();
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
    if (!accept.empty()) req.set(bhttp::field::accept, accept);
    return request(s, std::move(req));
  }

  net::io_context client_ioc_;
  std::vector<unsigned> interim_;  // 1xx statuses `request` skipped

 private:
  net::io_context ioc_;  // first member: destroyed last, after everything bound to it
  SystemClock system_clock_;
  Clock const& clock_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> access_sink_;
  spdlog::logger access_;
  spdlog::logger log_;
  RouteTable routes_;
  Backend backend_;
  Proxy proxy_;
  http::Router router_;
  std::shared_ptr<http::Listener> listener_;
  std::vector<std::thread> threads_;
};

// For tests that run in both of the proxy's modes: on one thread, as `nbhub proxy --threads 1`
// and the hub's default (no strands; WebSocket tunnels on the thread's TunnelLoop), and on
// two (Asio's reactor, a strand per connection).
class ProxyModes : public ::testing::TestWithParam<int> {
 protected:
  int threads() const { return GetParam(); }
};
inline std::string mode_name(::testing::TestParamInfo<int> const& info) {
  return info.param == 1 ? "OneThread" : "Strands";
}

}  // namespace nbhub::proxy::test
