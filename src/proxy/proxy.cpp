#include "proxy/proxy.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/html_escape.hpp"
#include "http/access_log.hpp"
#include "http/deadline.hpp"
#include "proxy/forwarded_headers.hpp"
#include "proxy/tls_tunnel.hpp"
#include "proxy/websocket_tunnel.hpp"

namespace nbhub::proxy {

namespace net = boost::asio;
namespace beast = boost::beast;
using Failure = ExchangeOutcome::Failure;
using SteadyClock = std::chrono::steady_clock;
using tcp = net::ip::tcp;

namespace {

// Scratch for message heads, allocated with each pooled body buffer. Not a limit: a longer
// head moves to the heap (HeadBuffer).
constexpr std::size_t kHeadScratchBytes = 8 * 1024;

std::string_view reason(unsigned status) {
  switch (status) {
    case 502:
      return "Bad Gateway";
    case 504:
      return "Gateway Timeout";
    case 403:
      return "Forbidden";
    default:
      return "Service Unavailable";
  }
}

bool idempotent(bhttp::verb v) {
  using bhttp::verb;
  return v == verb::get || v == verb::head || v == verb::options || v == verb::put || v == verb::delete_ ||
         v == verb::trace;
}

// The peer's address for X-Forwarded-For. The listener's remote_ip already is the peer unless
// a trusted proxy sent X-Forwarded-For, so the socket is only asked in that case.
std::string peer_address(tcp::socket& s, bhttp::request_header<> const& h, http::ClientView const& c) {
  if (h.find("X-Forwarded-For") == h.end()) return c.remote_ip;
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return c.remote_ip;
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
  return a.to_string();
}

}  // namespace

Proxy::Proxy(net::any_io_executor ex, ProxyConfig cfg, RouteTable& routes, Clock const& clock,
             spdlog::logger& access_log, spdlog::logger& log)
    : cfg_(std::move(cfg)),
      routes_(routes),
      clock_(clock),
      access_(access_log),
      log_(log),
      reaper_(ex, http::DeadlineReaper::tick_for(
                        std::min({cfg_.connect_timeout, cfg_.response_header_timeout, cfg_.stall_timeout}))),
      pool_(std::move(ex), cfg_, reaper_),
      buffers_(cfg_.buffer_bytes + kHeadScratchBytes, 64),
      relay_(cfg_, stats_, clock_, pool_),
      responder_(
          [](UpstreamError e) -> net::awaitable<http::Response> { co_return default_error_response(e); }) {}

http::Response Proxy::default_error_response(UpstreamError const& e) {
  if (e.wants_json || e.websocket) return http::json_error(e.status, e.message);
  auto title = fmt::format("{} {}", e.status, reason(e.status));
  return http::html_response(
      e.status, fmt::format("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title></head>"
                            "<body><h1>{0}</h1><p>{1}</p></body></html>\n",
                            title, html_escape(e.message)));
}

bool Proxy::wanted(std::string_view path) const noexcept {
  for (auto const& p : cfg_.unclaimed_paths)
    if (path == p) return false;
  if (cfg_.claim_prefixes.empty()) return true;
  for (auto const& p : cfg_.claim_prefixes)
    if (path.starts_with(p)) return true;
  return false;
}

bool Proxy::claims(http::HeadParser const& head) const {
  std::string scratch;  // allocated only for a path with %-escapes
  auto path = decoded_path(head.get().target(), scratch);
  if (!wanted(path)) return false;
  auto snap = routes_.snapshot();
  auto const* r = snap->find(path);
  return r && (!r->is_default() || cfg_.claim_default_route);
}

void Proxy::log_access(bhttp::request_header<> const& h, unsigned status, SteadyClock::time_point started,
                       std::string_view route, http::ClientView const& client) const {
  if (!access_.should_log(spdlog::level::info)) return;
  auto ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count();
  // write_access drops the query: it can carry tokens (?token=...).
  http::write_access(access_, cfg_.access_json,
                     {.method = h.method_string(), .target = h.target(), .status = status, .ms = ms,
                      .remote = client.remote_ip, .route = route, .conn = client.conn_id,
                      .request_id = client.request_id});
}

template <class Stream>
net::awaitable<bool> Proxy::respond_failure(Stream& stream, RequestParser& req, Route const& route,
                                            http::ClientView client, unsigned status, std::string message,
                                            bool websocket, bool keep_alive) {
  UpstreamError err;
  err.status = status;
  err.message = std::move(message);
  err.route = route.prefix();
  err.data = route.data();
  err.client = std::move(client);
  err.request = static_cast<bhttp::request_header<> const&>(req.get());
  err.websocket = websocket;
  err.wants_json = wants_json(err.request);
  auto version = err.request.version();
  stats_.upstream_errors.fetch_add(1, std::memory_order_relaxed);
  http::Response res = co_await responder_(std::move(err));
  res.version(version == 10 ? 10 : 11);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  boost::system::error_code ec;
  beast::get_lowest_layer(stream).expires_after(cfg_.stall_timeout);
  co_await bhttp::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
  co_return !ec && keep_alive;
}

template <class Stream>
net::awaitable<bool> Proxy::not_found(Stream& stream, http::HeadParser& head, http::ClientView const& client,
                                      SteadyClock::time_point started) {
  // The route went away since claims(); the body was not read, so the connection closes.
  auto res = http::json_error(404, "No route for this path.");
  res.keep_alive(false);
  res.prepare_payload();
  boost::system::error_code ec;
  beast::get_lowest_layer(stream).expires_after(cfg_.stall_timeout);
  co_await bhttp::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
  log_access(head.get(), 404, started, "-", client);
  co_return false;
}

net::awaitable<void> Proxy::tunnel(tcp::socket& client, beast::flat_buffer& buffer, UpstreamPtr up,
                                   RoutePtr route, std::uint64_t conn, bool single_thread) {
  WebSocketTunnel tunnel(client, up->socket, cfg_, *route, clock_, stats_, single_thread);
  auto r = co_await tunnel.run(buffer, up->buffer);
  if (r.end == WebSocketTunnel::End::error)
    log_.debug("conn={} tunnel on {} ended by an error", conn, route->prefix());
}

net::awaitable<void> Proxy::tunnel(http::TlsStream& client, beast::flat_buffer& buffer, UpstreamPtr up,
                                   RoutePtr route, std::uint64_t conn, bool) {
  auto r = co_await tunnel_tls(client, up->socket, buffer, up->buffer, cfg_, *route, clock_, stats_);
  if (r.end == WebSocketTunnel::End::error)
    log_.debug("conn={} TLS tunnel on {} ended by an error", conn, route->prefix());
}

net::awaitable<bool> Proxy::serve(beast::tcp_stream& stream, beast::flat_buffer& buffer, http::HeadParser& head,
                                  http::ClientView client) {
  return serve_on(stream, buffer, head, std::move(client));
}

net::awaitable<bool> Proxy::serve(http::TlsStream& stream, beast::flat_buffer& buffer, http::HeadParser& head,
                                  http::ClientView client) {
  return serve_on(stream, buffer, head, std::move(client));
}

template <class Stream>
net::awaitable<bool> Proxy::serve_on(Stream& stream, beast::flat_buffer& buffer, http::HeadParser& head,
                                     http::ClientView client) {
  // Read only for the access line: at warn level nothing per request asks for the time.
  auto const started = access_.should_log(spdlog::level::info) ? SteadyClock::now() : SteadyClock::time_point{};
  stats_.requests.fetch_add(1, std::memory_order_relaxed);
  RoutePtr route;
  {
    std::string scratch;
    auto snap = routes_.snapshot();
    auto const* r = snap->find(decoded_path(head.get().target(), scratch));
    if (r && (!r->is_default() || cfg_.claim_default_route)) route = r->shared_from_this();
  }
  if (!route) co_return co_await not_found(stream, head, client, started);
  route->touch(clock_.coarse_now());

  auto const& h = head.get();
  bool const websocket = beast::websocket::is_upgrade(h);
  bool const expect_continue = beast::iequals(h[bhttp::field::expect], "100-continue");
  bool const client_keep_alive = head.keep_alive();
  std::string const peer = cfg_.x_forward ? peer_address(http::socket_of(stream), h, client) : std::string();
  RequestParser req{std::move(head)};
  if (auto const& why = route->target().unrelayable; !why.empty()) [[unlikely]] {
    // Stored through the CHP API (route_table.hpp); the body was not read.
    log_.warn("conn={} {}: target {} cannot be relayed: {}", client.conn_id, route->prefix(),
              route->target().url, why);
    bool again = co_await respond_failure(
        stream, req, *route, client, 502,
        fmt::format("The proxy cannot relay requests to the server for {}; the proxy's log says why. "
                    "Tell your hub administrator.",
                    route->prefix()),
        websocket, false);
    log_access(req.get(), 502, started, route->prefix(), client);
    co_return again;
  }
  if (gate_ && gate_->denies(route->prefix(), req.get())) [[unlikely]] {
    // A revoked share: answered here, before a server that cached the token sees it. The body
    // was not read, so the connection closes. The responder gives browsers the hub's page.
    UpstreamError err{.status = 403,
                      .message = "Your access to this server was revoked. Ask its owner to share it again.",
                      .route = route->prefix(), .data = route->data(), .client = client,
                      .request = static_cast<bhttp::request_header<> const&>(req.get()), .websocket = websocket};
    err.wants_json = wants_json(err.request);
    auto res = co_await responder_(std::move(err));
    res.keep_alive(false);
    res.prepare_payload();
    boost::system::error_code ec;
    beast::get_lowest_layer(stream).expires_after(cfg_.stall_timeout);
    co_await bhttp::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
    log_access(req.get(), 403, started, route->prefix(), client);
    co_return false;
  }
  auto& client_io = http::raw_stream(stream);  // the bare socket, or the TLS stream
  auto& client_sock = http::socket_of(stream);
  auto buf = buffers_.get();
  HeadBuffer out_head(buf.get() + cfg_.buffer_bytes, kHeadScratchBytes);
  write_upstream_request(req.get(), *route, cfg_, client, peer, websocket, out_head);
  auto exec = stream.get_executor();
  http::Deadline deadline(reaper_);
  bool const retryable = idempotent(req.get().method()) && req.is_done();

  UpstreamPtr up;
  ExchangeOutcome out;
  for (int attempt = 0;; ++attempt) {
    // A request that could not be retried on a fresh connection checks the parked one first.
    deadline.watch(&client_sock, nullptr);  // before `up` is dropped: its descriptor may be reused
    up = attempt == 0 ? pool_.take(route->target().key, !retryable) : nullptr;
    if (!up) {
      auto c = co_await pool_.connect(route->target(), exec);
      if (c.ec) {
        out.failure =
            c.ec == beast::error::timeout ? Failure::upstream_timeout : Failure::upstream_unavailable;
        out.detail = fmt::format("connect {}: {}", route->target().key, c.ec.message());
        break;
      }
      up = std::move(c.conn);
    }
    deadline.watch(&client_sock, &up->socket);
    out = co_await relay_.exchange(client_io, buffer, req, out_head, expect_continue, client_keep_alive,
                                   websocket, up, *route, client.request_id, buf.get(), deadline);
    // A pooled connection the upstream had just closed: try once more on a new one, unless
    // the upstream may have acted on a non-idempotent request.
    if (out.stale && attempt == 0 && !out.body_started &&
        (retryable || out.detail.starts_with("write request head")))
      continue;
    break;
  }
  deadline.idle();  // the exchange is over; what follows has its own deadlines

  if (out.upgraded) {
    buf.reset();
    co_await tunnel(client_io, buffer, std::move(up), route, client.conn_id, client.single_thread);
    log_access(req.get(), 101, started, route->prefix(), client);
    co_return false;
  }
  if (out.failure == Failure::none) {
    log_access(req.get(), out.status, started, route->prefix(), client);
    co_return out.client_keep_alive;
  }
  if (out.failure == Failure::client_gone) {
    log_.debug("conn={} {}: {}", client.conn_id, route->prefix(), out.detail);
    log_access(req.get(), out.response_started ? out.status : 499, started, route->prefix(), client);
    co_return false;
  }
  log_.warn("conn={} {} {}: upstream {}", client.conn_id, req.get().method_string(), route->prefix(),
            out.detail);
  if (out.response_started) {  // too late for an error page: the client sees a cut response
    log_access(req.get(), out.status, started, route->prefix(), client);
    co_return false;
  }
  unsigned status = out.failure == Failure::upstream_timeout   ? 504
                    : out.failure == Failure::upstream_invalid ? 502
                                                               : 503;
  auto const& p = route->prefix();
  auto msg = status == 504 ? fmt::format(
                                 "The server for {} did not answer in time. It may be busy; try "
                                 "again shortly.",
                                 p)
             : status == 502 ? fmt::format("The server for {} sent an invalid response.", p)
                             : fmt::format(
                                   "The server for {} is not running or not reachable. It may have "
                                   "stopped; start it again from the hub.",
                                   p);
  bool again = co_await respond_failure(stream, req, *route, client, status, std::move(msg), websocket,
                                        client_keep_alive && (req.is_done() || out.request_read));
  log_access(req.get(), status, started, route->prefix(), client);
  co_return again;
}

}  // namespace nbhub::proxy
