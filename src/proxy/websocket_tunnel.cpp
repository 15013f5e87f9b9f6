#include "proxy/websocket_tunnel.hpp"

#include "core/clock.hpp"

#include <boost/asio/bind_executor.hpp>
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
      ex_(client.get_executor()),
      upstream_shares_executor_(upstream.get_executor() == ex_),
      timer_(ex_),
      buffers_(std::make_unique_for_overwrite<char[]>(2 * cfg.tunnel_buffer_bytes)),
      last_io_(SteadyClock::now()) {}

net::awaitable<WebSocketTunnel::Result> WebSocketTunnel::run(boost::beast::flat_buffer& client_leftover,
                                                             boost::beast::flat_buffer& upstream_leftover) {
  // Small frames after large ones must not wait for delayed ACKs (Nagle).
  error_code ignored;
  client_.set_option(tcp::no_delay(true), ignored);
  stats_.tunnels_opened.fetch_add(1, std::memory_order_relaxed);
  stats_.tunnels_open.fetch_add(1, std::memory_order_relaxed);
  Direction up{client_, upstream_, client_leftover, buffers_.get(), result_.bytes_up};
  Direction down{upstream_, client_, upstream_leftover, buffers_.get() + cfg_.tunnel_buffer_bytes,
                 result_.bytes_down};
  start(up);
  start(down);
  co_await watchdog();  // returns once both directions have ended: `up` and `down` are unused then
  stats_.tunnels_open.fetch_sub(1, std::memory_order_relaxed);
  result_.end = end_;
  co_return result_;
}

template <class Op, class Handler>
void WebSocketTunnel::on_strand(tcp::socket& io, Op op, Handler handler) {
  // A socket on the client's executor completes there by itself; only an upstream socket of
  // a multi-threaded listener (on the bare io_context) needs its handlers bound to the strand.
  // Binding always would copy the type-erased executor several times per message.
  if (&io == &client_ || upstream_shares_executor_) {
    op(std::move(handler));
  } else {
    op(net::bind_executor(ex_, std::move(handler)));
  }
}

void WebSocketTunnel::start(Direction& d) {
  if (d.leftover.size() == 0) return read(d);
  on_strand(
      d.to, [&](auto h) { net::async_write(d.to, d.leftover.data(), std::move(h)); },
      [this, &d](error_code ec, std::size_t n) {
        d.leftover.consume(n);
        d.counter += n;
        last_io_ = coarse_steady_now();
        if (ec) return finish(d, ec);
        read(d);
      });
}

void WebSocketTunnel::read(Direction& d) {
  if (stopping_) return finish(d, net::error::operation_aborted);
  on_strand(
      d.from, [&](auto h) { d.from.async_read_some(net::buffer(d.buf, cfg_.tunnel_buffer_bytes), std::move(h)); },
      [this, &d](error_code ec, std::size_t n) { on_read(d, ec, n); });
}

void WebSocketTunnel::on_read(Direction& d, error_code ec, std::size_t n) {
  if (ec) return finish(d, ec);
  last_io_ = coarse_steady_now();
  stats_.note_buffered(n);
  route_.touch(clock_.coarse_now());
  d.counter += n;
  // Most writes complete at once; only the rest waits (and stalls this direction's reads).
  Buffers bufs;
  bufs[0] = net::buffer(d.buf, n);
  auto sent = send_now(d.to.native_handle(), bufs, ec);
  if (ec) return finish(d, ec);
  if (sent == n) return read(d);
  on_strand(
      d.to, [&](auto h) { net::async_write(d.to, suffix(bufs, sent), std::move(h)); },
      [this, &d](error_code ec, std::size_t) {
        last_io_ = coarse_steady_now();
        if (ec) return finish(d, ec);
        read(d);
      });
}

void WebSocketTunnel::finish(Direction& d, error_code ec) {
  if (ec == net::error::eof && !stopping_) {
    // A clean close: pass the FIN on and give the other direction close_grace to finish.
    error_code ignored;
    d.to.shutdown(tcp::socket::shutdown_send, ignored);
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
