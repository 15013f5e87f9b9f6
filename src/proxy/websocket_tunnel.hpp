#pragma once
// A WebSocket connection after its 101: bytes copied both ways between the client and the
// upstream, no frame parsing (the single-user server speaks WebSocket; we only carry it).
//
// Two pumps and a watchdog share the client connection's strand (STYLE.md §6.2): each pump
// has one read and one write in flight at most, through its own fixed buffer
// (tunnel_buffer_bytes), so a slow reader stalls the other side's reads. When one side closes
// cleanly its FIN is passed on and the other side gets close_grace to finish (the close
// handshake); when a pump fails, both sockets are cancelled. The watchdog closes a tunnel
// with no bytes either way for idle_timeout, and also bounds a stalled write.
//
// The pumps are plain completion handlers, not coroutines: a kernel message crosses the
// tunnel in one read and one send, and the coroutine machinery (awaitable handlers, the
// cancellation slots of `&&`) cost as much user time per message as nginx spends in all.
// `run` awaits the watchdog, which returns once both pumps have ended.
//
// Activity: every chunk touches the route (Route::touch stores at most once a second).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

#include "core/clock.hpp"
#include "proxy/proxy_config.hpp"
#include "proxy/proxy_stats.hpp"
#include "proxy/route_table.hpp"

namespace nbhub::proxy {

class WebSocketTunnel {
 public:
  enum class End { closed, idle_timeout, error };
  struct Result {
    End end = End::closed;
    std::uint64_t bytes_up = 0;    // client -> upstream
    std::uint64_t bytes_down = 0;  // upstream -> client
  };

  // Both sockets must be bound to the strand `run` is awaited on and outlive it.
  WebSocketTunnel(boost::asio::ip::tcp::socket& client, boost::asio::ip::tcp::socket& upstream,
                  ProxyConfig const& cfg, Route const& route, Clock const& clock, ProxyStats& stats);

  // Runs until both directions have ended. `client_leftover` and `upstream_leftover` are
  // bytes already read past the handshake heads; they are sent first.
  boost::asio::awaitable<Result> run(boost::beast::flat_buffer& client_leftover,
                                     boost::beast::flat_buffer& upstream_leftover);

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Direction {
    boost::asio::ip::tcp::socket& from;
    boost::asio::ip::tcp::socket& to;
    boost::beast::flat_buffer& leftover;  // sent first
    char* buf;                            // tunnel_buffer_bytes
    std::uint64_t& counter;
  };
  void start(Direction& d);
  void read(Direction& d);
  void on_read(Direction& d, boost::system::error_code ec, std::size_t n);
  void finish(Direction& d, boost::system::error_code ec);  // this direction has ended
  // Starts `op(handler)` with the handler running on the client's strand.
  template <class Op, class Handler>
  void on_strand(boost::asio::ip::tcp::socket& io, Op op, Handler handler);
  boost::asio::awaitable<void> watchdog();
  void stop();  // ends both directions now

  boost::asio::ip::tcp::socket& client_;
  boost::asio::ip::tcp::socket& upstream_;
  ProxyConfig const& cfg_;
  Route const& route_;
  Clock const& clock_;
  ProxyStats& stats_;
  boost::asio::any_io_executor ex_;  // the client connection's strand: every handler runs there
  bool const upstream_shares_executor_;  // one thread: no strands, every socket on the io_context
  boost::asio::steady_timer timer_;
  std::unique_ptr<char[]> buffers_;  // two halves of tunnel_buffer_bytes
  SteadyTime last_io_;
  SteadyTime grace_until_ = SteadyTime::max();
  int pumps_done_ = 0;
  bool stopping_ = false;
  End end_ = End::closed;
  Result result_;
};

}  // namespace nbhub::proxy
