#pragma once
// The HTTP/1.1 listener: accepts connections, serves each on its own strand with a fresh
// bounded parser per request (header and body limits, read/idle deadlines from config), routes
// to handlers and writes an access log line per request. Built on Boost.Beast + Asio C++20
// coroutines (the Beast "server-flex-awaitable" structure).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "http/deadline.hpp"
#include "http/interceptor.hpp"
#include "http/request_id.hpp"
#include "http/router.hpp"

namespace spdlog { class logger; }
namespace nbhub::tls { class ServerTls; }

namespace nbhub::http {

// What the listener tells its observer after each request it routed (not the ones an
// interceptor served): for the request-duration metric.
struct RequestRecord {
  bhttp::verb method = bhttp::verb::unknown;
  std::string_view route;  // the router's pattern; "" for the fallback, 404 and 405
  unsigned status = 0;
  std::chrono::steady_clock::duration took{};  // from the request read to the response written
};
using RequestObserver = std::function<void(RequestRecord const&)>;

struct ListenerOptions {
  config::HttpLimits limits;
  std::vector<std::string> trusted_proxies;  // IPs whose X-Forwarded-Proto/Host/For we believe
  bool public_https = false;                 // public_url is https: cookies are Secure
  std::string name = "public";               // for logs
  // TLS on this listener (docs/tls.md): each connection takes the current context at accept.
  // Null: plain http. Must outlive the listener.
  tls::ServerTls* tls = nullptr;
  // Strict-Transport-Security max-age on routed responses to https clients; 0: none.
  std::chrono::seconds hsts_max_age{0};
  Interceptor* interceptor = nullptr;        // e.g. the proxy; must outlive the listener
  // The io_context runs on this one thread only: its handlers are already serialised, so
  // connections go without a strand each (a strand costs a lock, a queue and a type-erased
  // executor per completion; a third of the proxy's user-space time in profiles).
  bool single_thread = false;
  // Where router handlers run, when not on the connection's own executor: the hub keeps its
  // public port on a proxy thread of its own and hands requests for hub pages and the API to
  // its other threads (handlers may wait on the store or the IdP; proxied bytes must not wait
  // behind them). The connection's socket stays with the listener's io_context throughout.
  std::optional<boost::asio::any_io_executor> handler_executor;
  // Called on the connection's executor after each routed request; must be cheap.
  RequestObserver observer;
  // Give every request an id (http/request_id.hpp): in the access log, the X-Request-Id
  // response header, and passed on by the interceptor. Off for `nbhub proxy`, which leaves
  // X-Request-Id alone as configurable-http-proxy does.
  bool request_ids = false;
  bool access_json = false;  // access lines as JSON members (log_format = "json")
};

// The concurrency hint for an io_context that runs `threads` threads for single_thread-style
// listeners: with one thread, every socket is used on that thread only, so Asio's per-socket
// reactor locks are left out (~900 instructions per proxied request); the scheduler keeps its
// lock for completions posted from other threads (the resolver's, the hub's).
inline int io_concurrency_hint(unsigned threads) {
  return threads == 1 ? BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO : static_cast<int>(threads);
}

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // The router and logger must outlive the listener.
  Listener(boost::asio::io_context& ioc, Router const& router, ListenerOptions opts,
           spdlog::logger& access_log, spdlog::logger& log);

  // Binds and listens; throws at startup with a message naming the address when that fails.
  void bind(std::string const& ip, std::uint16_t port);
  std::uint16_t port() const;
  // Starts the accept loop on the io_context. Call once.
  void start();
  // Stops accepting; connections in flight finish their current request.
  void stop();

 private:
  boost::asio::awaitable<void> accept_loop();
  // `peer`: the client's address as accept(2) reported it.
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket sock, boost::asio::ip::tcp::endpoint peer,
                                     std::uint64_t id);
  // The requests of one connection, plain (beast::tcp_stream) or TLS (TlsStream).
  template <class Stream>
  boost::asio::awaitable<void> serve_requests(Stream& stream, std::string const& peer, std::uint64_t id);
  // One request of that connection, its first byte at hand (or OpenSSL's): true when the
  // connection may carry another.
  template <class Stream>
  boost::asio::awaitable<bool> serve_one(Stream& stream, boost::beast::flat_buffer& buffer, Deadline& head_deadline,
                                         std::string const& peer, std::uint64_t id);
  struct Reply {
    Response res;
    std::shared_ptr<BodyStream> stream;  // the body, when it follows over time
    std::string_view route;              // Router::Lookup::pattern
  };
  boost::asio::awaitable<Reply> dispatch(Request const& req, ClientView const& client);

  boost::asio::io_context& ioc_;
  Router const& router_;
  ListenerOptions opts_;
  spdlog::logger& access_;
  RequestIdSource request_ids_ = RequestIdSource::from_os();
  spdlog::logger& log_;
  boost::asio::ip::tcp::acceptor acceptor_;
  DeadlineReaper reaper_;  // request-head deadlines (idle_timeout, request_timeout)
  std::atomic<std::uint64_t> next_id_{1};
  std::atomic<std::size_t> open_connections_{0};
};

}  // namespace nbhub::http
