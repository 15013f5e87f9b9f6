#pragma once
// The built-in proxy: the listener's Interceptor (http/interceptor.hpp) for requests whose
// path matches a route. It streams them to the route's upstream and back (relay.hpp), tunnels
// WebSocket upgrades (websocket_tunnel.hpp), reuses upstream connections (upstream_pool.hpp)
// and records per-route activity (route_table.hpp). It authenticates nothing: the upstream
// (a single-user server) does, as behind CHP (spec §5.3).
//
// Executors. `claims` and `serve` run on the client connection's strand (the listener calls
// them); any number of connections are served concurrently on any number of threads. The
// proxy itself is immutable after construction except for its stats and pool, which are
// thread-safe; set the error responder before the listener starts.
//
// Errors. Nothing is thrown from `serve`. Before a response has started, upstream failures
// are answered through the error responder: 503 when the upstream refuses or drops the
// connection, 504 on a connect or response-head timeout, 502 for a malformed response or a
// route whose target cannot be relayed to (Target::unrelayable, e.g. https). After
// the response has started, a failure can only close the client connection. A request whose
// route vanished between `claims` and `serve` gets 404.
//
// Logging. One access line per proxied request (per tunnel, when it ends): method, path
// without the query, status, milliseconds, route and connection id; failures also log the
// operator's detail at warning level with the connection id.
#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "http/deadline.hpp"
#include "http/interceptor.hpp"
#include "http/message.hpp"
#include "proxy/access_gate.hpp"
#include "proxy/buffer_cache.hpp"
#include "proxy/proxy_config.hpp"
#include "proxy/proxy_stats.hpp"
#include "proxy/relay.hpp"
#include "proxy/route_table.hpp"
#include "proxy/upstream_pool.hpp"

namespace spdlog {
class logger;
}

namespace nbhub::proxy {

namespace bhttp = boost::beast::http;

// Everything an error page may want to show; passed by value (the responder is a coroutine).
struct UpstreamError {
  unsigned status = 503;     // 502, 503 or 504; 403 for a revoked share (access_gate.hpp)
  std::string message;       // for the user: what happened, what to try
  std::string route;         // the route prefix, e.g. "/user/alice"
  boost::json::object data;  // the route's data: user, server_name, service, ...
  http::ClientView client;
  // The request head as it was forwarded (hop-by-hop fields dropped, X-Forwarded-* added),
  // with the browser's original target.
  bhttp::request_header<> request;
  bool websocket = false;
  bool wants_json = false;  // an API-looking request (forwarded_headers.hpp)
};

// Produces the response for an upstream failure. Runs on the connection's strand and must
// not block (no store access); the hub renders its "server not running" page here. The proxy
// sets Connection handling and Content-Length on what it returns.
using ErrorResponder = std::function<boost::asio::awaitable<http::Response>(UpstreamError)>;

class Proxy final : public http::Interceptor {
 public:
  // `ex` runs the upstream pool's idle sweep. The routes, clock and loggers must outlive the
  // proxy; the proxy must outlive the listeners using it.
  Proxy(boost::asio::any_io_executor ex, ProxyConfig cfg, RouteTable& routes, Clock const& clock,
        spdlog::logger& access_log, spdlog::logger& log);

  void set_error_responder(ErrorResponder responder) { responder_ = std::move(responder); }
  // Requests refused for a revoked token (access_gate.hpp); set before the listener starts.
  void set_access_gate(AccessGate const* gate) { gate_ = gate; }
  // The default responder: {"status": N, "message": "..."} for API-looking requests, a small
  // HTML page otherwise.
  static http::Response default_error_response(UpstreamError const& e);

  bool claims(http::HeadParser const& head) const override;
  boost::asio::awaitable<bool> serve(boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffer,
                                     http::HeadParser& parser, http::ClientView client) override;
  boost::asio::awaitable<bool> serve(http::TlsStream& stream, boost::beast::flat_buffer& buffer,
                                     http::HeadParser& parser, http::ClientView client) override;

  ProxyConfig const& config() const noexcept { return cfg_; }
  ProxyStats const& stats() const noexcept { return stats_; }
  UpstreamPool const& pool() const noexcept { return pool_; }

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  bool wanted(std::string_view decoded_path) const noexcept;
  void log_access(bhttp::request_header<> const& h, unsigned status, SteadyTime started,
                  std::string_view route, http::ClientView const& client) const;
  // The rarer paths of `serve`, apart so that its coroutine frame stays small. Awaited
  // directly by `serve`: the references live in its frame.
  // `Stream`: beast::tcp_stream or http::TlsStream (both instantiated in proxy.cpp).
  template <class Stream>
  boost::asio::awaitable<bool> serve_on(Stream& stream, boost::beast::flat_buffer& buffer, http::HeadParser& parser,
                                        http::ClientView client);
  template <class Stream>
  boost::asio::awaitable<bool> respond_failure(Stream& stream, RequestParser& req, Route const& route,
                                               http::ClientView client, unsigned status, std::string message,
                                               bool websocket, bool keep_alive);
  template <class Stream>
  boost::asio::awaitable<bool> not_found(Stream& stream, http::HeadParser& head, http::ClientView const& client,
                                         SteadyTime started);
  boost::asio::awaitable<void> tunnel(boost::asio::ip::tcp::socket& client, boost::beast::flat_buffer& buffer,
                                      UpstreamPtr up, RoutePtr route, std::uint64_t conn, bool single_thread);
  boost::asio::awaitable<void> tunnel(http::TlsStream& client, boost::beast::flat_buffer& buffer, UpstreamPtr up,
                                      RoutePtr route, std::uint64_t conn, bool single_thread);

  ProxyConfig const cfg_;
  RouteTable& routes_;
  Clock const& clock_;
  spdlog::logger& access_;
  spdlog::logger& log_;
  ProxyStats stats_;
  http::DeadlineReaper reaper_;
  UpstreamPool pool_;
  BufferCache buffers_;  // cfg_.buffer_bytes each
  Relay relay_;
  ErrorResponder responder_;
  AccessGate const* gate_ = nullptr;
};

}  // namespace nbhub::proxy
