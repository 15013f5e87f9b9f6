#include "proxy/websocket_tunnel.hpp"

#include "core/clock.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cerrno>

#include <sys/socket.h>
#include <unistd.h>

#include "proxy/head_writer.hpp"
#include "proxy/tunnel_loop.hpp"

namespace nbhub::proxy {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

namespace {

error_code errno_code(int e) { return {e, boost::system::system_category()}; }

net::io_context* single_io_context(net::any_io_executor const& ex) {
  auto const* io = ex.target<net::io_context::executor_type>();
  return io ? &io->context() : nullptr;
}

}  // namespace

// One socket of a tunnel on the TunnelLoop, with nginx's readiness flags: `readable` is
// cleared by a read that came back short (the next bytes bring a new edge) unless the peer
// has closed (then the FIN may be waiting behind those bytes, with no edge to come), and by
// EAGAIN; `writable` by EAGAIN.
struct WebSocketTunnel::Side final : TunnelLoop::Endpoint {
  Looped* owner = nullptr;
  int fd = -1;
  bool readable = true;  // try at once: bytes may have come before the socket was registered
  bool writable = true;
  bool peer_closed = false;
  void on_ready(std::uint32_t events) override;
};

// One direction on the TunnelLoop: bytes read from `from` go to `to`.
struct WebSocketTunnel::Pipe {
  Side& from;
  Side& to;
  char* buf;                     // tunnel_buffer_bytes
  char const* pending;           // read, not yet sent: the leftover first, then `buf`
  std::size_t pending_size;
  std::uint64_t& counter;
  bool eof = false;   // `from` has closed: pass the FIN on once `pending` is sent
  bool done = false;  // this direction has ended
};

struct WebSocketTunnel::Looped {
  WebSocketTunnel& tunnel;
  TunnelLoop& loop;
  Side client;
  Side upstream;
  Pipe up;    // client -> upstream
  Pipe down;  // upstream -> client

  void pump() {
    tunnel.pump(up);
    tunnel.pump(down);
  }
  // Unregisters and closes both descriptors, however run_on_loop ends (also when the
  // io_context is destroyed with the tunnel open).
  ~Looped() {
    for (auto* s : {&client, &upstream}) {
      if (s->fd < 0) continue;
      loop.remove(s->fd, *s);
      ::close(s->fd);
    }
  }
};

void WebSocketTunnel::Side::on_ready(std::uint32_t events) {
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readable = true;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) peer_closed = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) writable = true;
  owner->pump();
}

WebSocketTunnel::WebSocketTunnel(tcp::socket& client, tcp::socket& upstream, ProxyConfig const& cfg,
                                 Route const& route, Clock const& clock, ProxyStats& stats, bool single_thread)
    : client_(client),
      upstream_(upstream),
      cfg_(cfg),
      route_(route),
      clock_(clock),
      stats_(stats),
      ex_(client.get_executor()),
      upstream_shares_executor_(upstream.get_executor() == ex_),
      loop_context_(single_thread && upstream_shares_executor_ ? single_io_context(ex_) : nullptr),
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
  if (loop_context_) {
    co_await run_on_loop(client_leftover, upstream_leftover);
  } else {
    Direction up{client_, upstream_, client_leftover, buffers_.get(), result_.bytes_up};
    Direction down{upstream_, client_, upstream_leftover, buffers_.get() + cfg_.tunnel_buffer_bytes,
                   result_.bytes_down};
    start(up);
    start(down);
    co_await watchdog();  // returns once both directions have ended: `up` and `down` are unused then
  }
  stats_.tunnels_open.fetch_sub(1, std::memory_order_relaxed);
  stats_.bytes_to_upstream.fetch_add(result_.bytes_up, std::memory_order_relaxed);
  stats_.bytes_to_client.fetch_add(result_.bytes_down, std::memory_order_relaxed);
  result_.end = end_;
  co_return result_;
}

// --- The pumps on the TunnelLoop ---------------------------------------------------------

net::awaitable<void> WebSocketTunnel::run_on_loop(boost::beast::flat_buffer& client_leftover,
                                                  boost::beast::flat_buffer& upstream_leftover) {
  auto& loop = net::use_service<TunnelLoop>(*loop_context_);
  Looped l{*this,
           loop,
           {},
           {},
           {l.client, l.upstream, buffers_.get(), static_cast<char const*>(client_leftover.data().data()),
            client_leftover.size(), result_.bytes_up},
           {l.upstream, l.client, buffers_.get() + cfg_.tunnel_buffer_bytes,
            static_cast<char const*>(upstream_leftover.data().data()), upstream_leftover.size(),
            result_.bytes_down}};
  l.client.owner = l.upstream.owner = &l;
  // The descriptors leave Asio (no operation is pending on either) and are closed by `l`.
  error_code ec;
  l.client.fd = client_.release(ec);
  if (!ec) l.upstream.fd = upstream_.release(ec);
  if (!ec) {
    try {
      loop.add(l.client.fd, l.client);
      loop.add(l.upstream.fd, l.upstream);
    } catch (boost::system::system_error const& e) {
      ec = e.code();
    }
  }
  if (ec) {  // not expected: descriptors that Asio had open
    end_ = End::error;
    co_return;
  }
  looped_ = &l;
  l.pump();  // the leftovers, and bytes that came before the registration
  co_await watchdog();
  looped_ = nullptr;
}

void WebSocketTunnel::pump(Pipe& p) {
  auto const cap = cfg_.tunnel_buffer_bytes;
  while (!p.done) {
    if (p.pending_size != 0) {
      if (!p.to.writable) return;
      auto n = ::send(p.to.fd, p.pending, p.pending_size, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          p.to.writable = false;  // EPOLLOUT will say when there is room
          return;
        }
        p.done = true;
        return finish(errno_code(errno), p.to.fd);
      }
      p.pending += n;
      p.pending_size -= static_cast<std::size_t>(n);
      p.counter += static_cast<std::size_t>(n);
      last_io_ = coarse_steady_now();
      continue;  // a partial send tries again and meets EAGAIN
    }
    if (p.eof) {
      p.done = true;
      return finish(net::error::eof, p.to.fd);
    }
    if (!p.from.readable) return;
    auto n = ::recv(p.from.fd, p.buf, cap, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        p.from.readable = false;
        return;
      }
      p.done = true;
      return finish(errno_code(errno), p.to.fd);
    }
    if (n == 0) {
      p.eof = true;
      continue;
    }
    if (static_cast<std::size_t>(n) < cap && !p.from.peer_closed) p.from.readable = false;
    note_read(static_cast<std::size_t>(n));
    p.pending = p.buf;
    p.pending_size = static_cast<std::size_t>(n);
  }
}

// --- The pumps on Asio's reactor (several threads) ---------------------------------------

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
        if (ec) return finish(ec, d.to.native_handle());
        read(d);
      });
}

void WebSocketTunnel::read(Direction& d) {
  if (stopping_) return finish(net::error::operation_aborted, -1);
  on_strand(
      d.from, [&](auto h) { d.from.async_read_some(net::buffer(d.buf, cfg_.tunnel_buffer_bytes), std::move(h)); },
      [this, &d](error_code ec, std::size_t n) { on_read(d, ec, n); });
}

void WebSocketTunnel::on_read(Direction& d, error_code ec, std::size_t n) {
  if (ec) return finish(ec, d.to.native_handle());
  note_read(n);
  d.counter += n;
  // Most writes complete at once; only the rest waits (and stalls this direction's reads).
  Buffers bufs;
  bufs[0] = net::buffer(d.buf, n);
  auto sent = send_now(d.to.native_handle(), bufs, ec);
  if (ec) return finish(ec, d.to.native_handle());
  if (sent == n) return read(d);
  on_strand(
      d.to, [&](auto h) { net::async_write(d.to, suffix(bufs, sent), std::move(h)); },
      [this, &d](error_code ec, std::size_t) {
        last_io_ = coarse_steady_now();
        if (ec) return finish(ec, d.to.native_handle());
        read(d);
      });
}

// --- Both --------------------------------------------------------------------------------

void WebSocketTunnel::note_read(std::size_t n) {
  last_io_ = coarse_steady_now();
  stats_.note_buffered(n);
  route_.touch(clock_.coarse_now());
}

void WebSocketTunnel::finish(error_code ec, int to_fd) {
  if (ec == net::error::eof && !stopping_) {
    // A clean close: pass the FIN on and give the other direction close_grace to finish.
    ::shutdown(to_fd, SHUT_WR);
    grace_until_ = std::min(grace_until_, SteadyClock::now() + cfg_.close_grace);
  } else {
    // Resets and aborts are how browsers and kernels usually leave (STYLE.md §6.8).
    bool expected = ec == net::error::eof || ec == net::error::operation_aborted ||
                    ec == net::error::connection_reset || ec == net::error::broken_pipe;
    if (!expected && end_ == End::closed) end_ = End::error;
    stop();
  }
  if (++pumps_done_ >= 2 || grace_until_ != SteadyTime::max()) timer_.cancel();  // re-evaluate
}

net::awaitable<void> WebSocketTunnel::watchdog() {
  for (;;) {
    // Checked before every wait: the pumps run on this strand, so none can finish between
    // this test and the wait below.
    if (pumps_done_ >= 2) co_return;
    auto deadline = std::min(last_io_ + cfg_.idle_timeout, grace_until_);
    if (SteadyClock::now() >= deadline) {
      if (grace_until_ == SteadyTime::max()) end_ = End::idle_timeout;
      stop();
      if (pumps_done_ >= 2) co_return;  // the TunnelLoop's pumps end within stop()
      // Asio's pumps now finish; wait for the last one to cancel the timer.
      timer_.expires_at(SteadyTime::max());
    } else {
      timer_.expires_at(deadline);
    }
    error_code ec;
    co_await timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

void WebSocketTunnel::stop() {
  if (stopping_) return;
  stopping_ = true;
  if (looped_) {
    // Both directions end here and now: nothing of theirs is in flight.
    for (auto* p : {&looped_->up, &looped_->down}) {
      if (p->done) continue;
      p->done = true;
      ++pumps_done_;
    }
    ::shutdown(looped_->client.fd, SHUT_RDWR);
    ::shutdown(looped_->upstream.fd, SHUT_RDWR);
    timer_.cancel();
    return;
  }
  // Shut down as well as cancel: an operation whose completion is already queued is not
  // cancelled, and the pump's next operation must fail at once rather than wait.
  error_code ignored;
  client_.shutdown(tcp::socket::shutdown_both, ignored);
  upstream_.shutdown(tcp::socket::shutdown_both, ignored);
  client_.cancel(ignored);
  upstream_.cancel(ignored);
}

}  // namespace nbhub::proxy
