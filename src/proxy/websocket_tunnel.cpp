#include "proxy/websocket_tunnel.hpp"

#include "core/clock.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>

#include "proxy/head_writer.hpp"

namespace nbhub::proxy {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

WebSocketTunnel::WebSocketTunnel(tcp::socket& client, tcp::socket& upstream, ProxyConfig const& cfg,
                                 Route const& route, Clock const& clock, ProxyStats& stats)
    : client_(client),
      upstream_(upstream),
      cfg_(cfg),
      route_(route),
      clock_(clock),
      stats_(stats),
      timer_(client.get_executor()),
      buffers_(std::make_unique_for_overwrite<char[]>(2 * cfg.tunnel_buffer_bytes)),
      last_io_(SteadyClock::now()) {}

net::awaitable<WebSocketTunnel::Result> WebSocketTunnel::run(boost::beast::flat_buffer& client_leftover,
                                                             boost::beast::flat_buffer& upstream_leftover) {
  using namespace net::experimental::awaitable_operators;
  // Small frames after large ones must not wait for delayed ACKs (Nagle).
  error_code ignored;
  client_.set_option(tcp::no_delay(true), ignored);
  stats_.tunnels_opened.fetch_add(1, std::memory_order_relaxed);
  stats_.tunnels_open.fetch_add(1, std::memory_order_relaxed);
  // The pumps never throw (errors are values), so `&&` waits for all three.
  co_await (pump(client_, upstream_, client_leftover, buffers_.get(), result_.bytes_up) &&
            pump(upstream_, client_, upstream_leftover, buffers_.get() + cfg_.tunnel_buffer_bytes,
                 result_.bytes_down) &&
            watchdog());
  stats_.tunnels_open.fetch_sub(1, std::memory_order_relaxed);
  result_.end = end_;
  co_return result_;
}

net::awaitable<void> WebSocketTunnel::pump(tcp::socket& from, tcp::socket& to,
                                           boost::beast::flat_buffer& leftover, char* buf,
                                           std::uint64_t& counter) {
  error_code ec;
  if (leftover.size() != 0) {
    auto n = co_await net::async_write(to, leftover.data(), net::redirect_error(net::use_awaitable, ec));
    leftover.consume(n);
    counter += n;
    last_io_ = coarse_steady_now();
  }
  while (!ec && !stopping_) {
    auto n = co_await from.async_read_some(net::buffer(buf, cfg_.tunnel_buffer_bytes),
                                           net::redirect_error(net::use_awaitable, ec));
    if (ec) break;
    last_io_ = coarse_steady_now();
    stats_.note_buffered(n);
    route_.touch(clock_.coarse_now());
    // Most writes complete at once; only the rest waits (and stalls this direction's reads).
    Buffers bufs;
    bufs[0] = net::buffer(buf, n);
    auto sent = send_now(to.native_handle(), bufs, ec);
    if (!ec && sent < n) {
      co_await net::async_write(to, suffix(bufs, sent), net::redirect_error(net::use_awaitable, ec));
      last_io_ = coarse_steady_now();
    }
    counter += n;
  }
  if (ec == net::error::eof && !stopping_) {
    // A clean close: pass the FIN on and give the other direction close_grace to finish.
    error_code ignored;
    to.shutdown(tcp::socket::shutdown_send, ignored);
    grace_until_ = std::min(grace_until_, SteadyClock::now() + cfg_.close_grace);
  } else {
    // Resets and aborts are how browsers and kernels usually leave (STYLE.md §6.8).
    bool expected = ec == net::error::eof || ec == net::error::operation_aborted ||
                    ec == net::error::connection_reset || ec == net::error::broken_pipe;
    if (!expected && end_ == End::closed) end_ = End::error;
    stop();
  }
  if (++pumps_done_ == 2 || grace_until_ != SteadyTime::max()) timer_.cancel();  // re-evaluate
}

net::awaitable<void> WebSocketTunnel::watchdog() {
  for (;;) {
    // Checked before every wait: the pumps run on this strand, so none can finish between
    // this test and the wait below.
    if (pumps_done_ == 2) co_return;
    auto deadline = std::min(last_io_ + cfg_.idle_timeout, grace_until_);
    if (SteadyClock::now() >= deadline) {
      if (grace_until_ == SteadyTime::max()) end_ = End::idle_timeout;
      stop();
      // The pumps now finish; wait for the last one to cancel the timer.
      timer_.expires_at(SteadyTime::max());
    } else {
      timer_.expires_at(deadline);
    }
    error_code ec;
    co_await timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

void WebSocketTunnel::stop() {
  // Shut down as well as cancel: an operation whose completion is already queued is not
  // cancelled, and the pump's next operation must fail at once rather than wait.
  stopping_ = true;
  error_code ignored;
  client_.shutdown(tcp::socket::shutdown_both, ignored);
  upstream_.shutdown(tcp::socket::shutdown_both, ignored);
  client_.cancel(ignored);
  upstream_.cancel(ignored);
}

}  // namespace nbhub::proxy
