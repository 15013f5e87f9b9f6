#pragma once
// A scripted loopback HTTP/1.1 server for tests of outbound HTTP (and, later, server code).
// It runs its own io_context on its own thread, listens on 127.0.0.1 or ::1 port 0, can speak
// TLS, and answers each request with raw bytes chosen by a handler, so tests can produce
// chunked bodies, `Connection: close`, slow or dropped replies. It records what it saw.
//
// Also: `run_sync`, which drives a coroutine to completion on a caller-owned io_context.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace nbhub::http::test {

namespace tnet = boost::asio;
namespace tbeast = boost::beast;

struct SeenRequest {
  int connection = 0;  // 0-based, in accept order
  int index = 0;       // 0-based position on its connection
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(std::string_view name) const {
    for (auto const& [k, v] : headers)
      if (tbeast::iequals(k, name)) return v;
    return {};
  }
  bool has_header(std::string_view name) const {
    for (auto const& [k, v] : headers)
      if (tbeast::iequals(k, name)) return true;
    return false;
  }
};

struct Reply {
  std::string raw;                     // bytes written verbatim
  std::chrono::milliseconds delay{0};  // waited (timer) before writing
  bool close_after = false;            // close the socket after writing
  bool drop = false;                   // close the socket without writing anything
};

// "HTTP/1.1 <status> X\r\nContent-Length: n\r\n<extra>\r\n<body>"; `extra` lines end in \r\n.
inline std::string http_response(std::string body, unsigned status = 200, std::string extra = "") {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

struct TestServerOptions {
  bool ipv6 = false;
  std::string cert_file, key_file;  // TLS when set
};

// A completion handler for co_spawn that reports an escaped exception (STYLE.md §6.5).
inline auto report_exception(char const* what) {
  return [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (std::exception const& ex) {
      std::fprintf(stderr, "test server %s: %s\n", what, ex.what());
    }
  };
}

class TestServer {
 public:
  using Handler = std::function<Reply(SeenRequest const&)>;
  using Options = TestServerOptions;

  explicit TestServer(Handler handler, Options opt = {})
      : handler_(std::move(handler)), opt_(std::move(opt)) {
    auto addr = tnet::ip::make_address(opt_.ipv6 ? "::1" : "127.0.0.1");
    acceptor_.open(addr.is_v6() ? tnet::ip::tcp::v6() : tnet::ip::tcp::v4());
    acceptor_.set_option(tnet::socket_base::reuse_address(true));
    acceptor_.bind({addr, 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    if (!opt_.cert_file.empty()) {
      tls_.emplace(tnet::ssl::context::tls_server);
      tls_->use_certificate_chain_file(opt_.cert_file);
      tls_->use_private_key_file(opt_.key_file, tnet::ssl::context::pem);
    }
    tnet::co_spawn(ioc_, accept_loop(), report_exception("accept loop"));
    thread_ = std::thread([this] { ioc_.run(); });
  }

  // Stopping the io_context (rather than draining) is fine here: a test server holds no
  // state worth persisting and pending coroutines are destroyed with the io_context.
  ~TestServer() {
    ioc_.stop();
    thread_.join();
  }

  unsigned short port() const { return port_; }
  // e.g. url("/x") == "http://127.0.0.1:4711/x"
  std::string url(std::string const& path, std::string host = "") const {
    if (host.empty()) host = opt_.ipv6 ? "[::1]" : "127.0.0.1";
    return std::string(tls_ ? "https" : "http") + "://" + host + ":" + std::to_string(port_) + path;
  }
  int connections() const { return accepted_; }
  int closed_connections() const {
    std::lock_guard lock(mu_);
    return closed_;
  }
  std::vector<SeenRequest> requests() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  // Waits (bounded) until `n` connections have ended on the server side.
  bool wait_closed(int n, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return closed_ >= n; });
  }

 private:
  tnet::awaitable<void> accept_loop() {
    for (;;) {
      tbeast::error_code ec;
      auto sock = co_await acceptor_.async_accept(tnet::redirect_error(tnet::use_awaitable, ec));
      if (ec) co_return;
      int id = accepted_++;
      tnet::co_spawn(ioc_, serve(std::move(sock), id), report_exception("connection"));
    }
  }

  tnet::awaitable<void> serve(tnet::ip::tcp::socket sock, int id) {
    if (tls_) {
      tbeast::ssl_stream<tnet::ip::tcp::socket> s(std::move(sock), *tls_);
      tbeast::error_code ec;
      co_await s.async_handshake(tnet::ssl::stream_base::server,
                                 tnet::redirect_error(tnet::use_awaitable, ec));
      if (!ec) co_await session(s, id);
      s.next_layer().close(ec);
    } else {
      co_await session(sock, id);
      tbeast::error_code ignored;
      sock.close(ignored);
    }
    {
      // Counted once the socket is closed: wait_closed() then means the FIN is on its way
      // (counting before the close let a client peek at the connection before the FIN).
      std::lock_guard lock(mu_);
      ++closed_;
    }
    cv_.notify_all();
  }

  template <class Stream>
  tnet::awaitable<void> session(Stream& s, int id) {
    tbeast::flat_buffer buf;
    for (int index = 0;; ++index) {
      tbeast::error_code ec;
      tbeast::http::request<tbeast::http::string_body> req;
      co_await tbeast::http::async_read(s, buf, req, tnet::redirect_error(tnet::use_awaitable, ec));
      if (ec) co_return;
      SeenRequest seen{id, index,     std::string(req.method_string()), std::string(req.target()),
                       {}, req.body()};
      for (auto const& f : req) seen.headers.emplace_back(f.name_string(), f.value());
      {
        std::lock_guard lock(mu_);
        seen_.push_back(seen);
      }
      Reply reply = handler_(seen);
      if (reply.drop) co_return;
      if (reply.delay.count() > 0) {
        tnet::steady_timer t(co_await tnet::this_coro::executor, reply.delay);
        co_await t.async_wait(tnet::redirect_error(tnet::use_awaitable, ec));
      }
      co_await tnet::async_write(s, tnet::buffer(reply.raw),
                                 tnet::redirect_error(tnet::use_awaitable, ec));
      if (ec || reply.close_after) co_return;
    }
  }

  Handler handler_;
  Options opt_;
  tnet::io_context ioc_;
  tnet::ip::tcp::acceptor acceptor_{ioc_};
  std::optional<tnet::ssl::context> tls_;
  unsigned short port_ = 0;
  std::atomic<int> accepted_{0};
  int closed_ = 0;  // guarded by mu_
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<SeenRequest> seen_;  // guarded by mu_
  std::thread thread_;
};

// Runs `aw` on `ioc` (on this thread) until it completes; rethrows what it throws.
template <class T>
T run_sync(tnet::io_context& ioc, tnet::awaitable<T> aw) {
  std::optional<T> out;
  std::exception_ptr error;
  bool done = false;
  tnet::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) out = std::move(v);
    done = true;
  });
  ioc.restart();
  while (!done) ioc.run_one();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

}  // namespace nbhub::http::test
