#include "proxy/tls_tunnel.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <memory>
#include <type_traits>

namespace nbhub::proxy {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;
using End = WebSocketTunnel::End;

namespace {

struct TunnelState {
  TunnelState(net::any_io_executor ex, http::TlsStream& c, tcp::socket& u, ProxyConfig const& cfg_, Route const& r,
              Clock const& cl, ProxyStats& s)
      : timer(std::move(ex)), client(c), upstream(u), cfg(cfg_), route(r), clock(cl), stats(s),
        buffers(std::make_unique_for_overwrite<char[]>(2 * cfg_.tunnel_buffer_bytes)) {}

  net::steady_timer timer;
  http::TlsStream& client;
  tcp::socket& upstream;
  ProxyConfig const& cfg;
  Route const& route;
  Clock const& clock;
  ProxyStats& stats;
  std::unique_ptr<char[]> buffers;
  SteadyClock::time_point last_io = SteadyClock::now();
  SteadyClock::time_point grace_until = SteadyClock::time_point::max();
  int pumps_done = 0;
  bool stopping = false;
  End end = End::closed;
  WebSocketTunnel::Result result;

  void note_read(std::size_t n) {
    last_io = coarse_steady_now();
    stats.note_buffered(n);
    route.touch(clock.coarse_now());
  }
  void stop() {
    if (stopping) return;
    stopping = true;
    error_code ignored;
    http::socket_of(client).shutdown(tcp::socket::shutdown_both, ignored);
    upstream.shutdown(tcp::socket::shutdown_both, ignored);
    http::socket_of(client).cancel(ignored);
    upstream.cancel(ignored);
  }
  // A direction has ended; a clean end passes the FIN on to `to` (to the client with its
  // close_notify first).
  template <class To>
  void finish(error_code ec, To& to) {
    bool const clean = ec == net::error::eof || ec == net::ssl::error::stream_truncated;
    if (clean && !stopping) {
      if constexpr (std::is_same_v<To, http::TlsStream>) {
        to.shutdown_send();
      } else {
        error_code ignored;
        to.shutdown(tcp::socket::shutdown_send, ignored);
      }
      grace_until = std::min(grace_until, SteadyClock::now() + cfg.close_grace);
    } else {
      bool expected = clean || ec == net::error::operation_aborted || ec == net::error::connection_reset ||
                      ec == net::error::broken_pipe;
      if (!expected && end == End::closed) end = End::error;
      stop();
    }
  }
};

template <class From, class To>
net::awaitable<void> pump(TunnelState& st, From& from, To& to, beast::flat_buffer& leftover, char* buf,
                          std::uint64_t& counter) {
  constexpr auto kAwait = net::use_awaitable;
  error_code ec;
  if (leftover.size() != 0) {
    auto n = co_await net::async_write(to, leftover.data(), net::redirect_error(kAwait, ec));
    leftover.consume(n);
    counter += n;
  }
  while (!ec && !st.stopping) {
    auto n = co_await from.async_read_some(net::buffer(buf, st.cfg.tunnel_buffer_bytes), net::redirect_error(kAwait, ec));
    if (ec) break;
    st.note_read(n);
    co_await net::async_write(to, net::buffer(buf, n), net::redirect_error(kAwait, ec));
    counter += n;
    st.last_io = coarse_steady_now();
  }
  if (!ec) ec = net::error::operation_aborted;
  st.finish(ec, to);
}

net::awaitable<void> watchdog(TunnelState& st) {
  for (;;) {
    if (st.pumps_done >= 2) co_return;
    auto deadline = std::min(st.last_io + st.cfg.idle_timeout, st.grace_until);
    if (SteadyClock::now() >= deadline) {
      if (st.grace_until == SteadyClock::time_point::max()) st.end = End::idle_timeout;
      st.stop();
      st.timer.expires_at(SteadyClock::time_point::max());  // the pumps end now and cancel it
    } else {
      st.timer.expires_at(deadline);
    }
    error_code ec;
    co_await st.timer.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

}  // namespace

net::awaitable<WebSocketTunnel::Result> tunnel_tls(http::TlsStream& client, tcp::socket& upstream,
                                                   beast::flat_buffer& client_leftover,
                                                   beast::flat_buffer& upstream_leftover, ProxyConfig const& cfg,
                                                   Route const& route, Clock const& clock, ProxyStats& stats) {
  auto ex = co_await net::this_coro::executor;
  TunnelState st(ex, client, upstream, cfg, route, clock, stats);
  error_code ignored;
  http::socket_of(client).set_option(tcp::no_delay(true), ignored);
  upstream.set_option(tcp::no_delay(true), ignored);
  stats.tunnels_opened.fetch_add(1, std::memory_order_relaxed);
  stats.tunnels_open.fetch_add(1, std::memory_order_relaxed);
  // Each pump counts itself done once its frame is gone; the watchdog returns only then, so
  // `st` outlives both.
  auto done = [&st](std::exception_ptr e) {
    if (e && st.end == End::closed) st.end = End::error;
    ++st.pumps_done;
    st.timer.cancel();
  };
  char* buf = st.buffers.get();
  net::co_spawn(ex, pump(st, client, upstream, client_leftover, buf, st.result.bytes_up), done);
  net::co_spawn(ex, pump(st, upstream, client, upstream_leftover, buf + cfg.tunnel_buffer_bytes, st.result.bytes_down),
                done);
  co_await watchdog(st);
  stats.tunnels_open.fetch_sub(1, std::memory_order_relaxed);
  stats.bytes_to_upstream.fetch_add(st.result.bytes_up, std::memory_order_relaxed);
  stats.bytes_to_client.fetch_add(st.result.bytes_down, std::memory_order_relaxed);
  st.result.end = st.end;
  co_return st.result;
}

}  // namespace nbhub::proxy
