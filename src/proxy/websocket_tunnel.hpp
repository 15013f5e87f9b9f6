#pragma once
// A WebSocket connection after its 101: bytes copied both ways between the client and the
// upstream, no frame parsing (the single-user server speaks WebSocket; we only carry it).
//
// Two pumps, one per direction, and a watchdog. Each pump has one read and one send in
// flight at most, through its own fixed buffer (tunnel_buffer_bytes), so a slow reader
// stalls the other side's reads. When one side closes cleanly its FIN is passed on and the
// other side gets close_grace to finish (the close handshake); when a pump fails, both
// sockets are shut down. The watchdog closes a tunnel with no bytes either way for
// idle_timeout, and also bounds a stalled send.
//
// How the pumps wait for their sockets:
// - On a single-threaded proxy (the default) both sockets leave Asio's reactor for the
//   thread's TunnelLoop (tunnel_loop.hpp), which reads and sends as nginx does: a message
//   costs one recv() and one send(), with no operation objects or scheduler queue.
// - With several threads, the pumps are Asio completion handlers on the client
//   connection's strand (STYLE.md §6.2). They are plain handlers, not coroutines: the
//   coroutine machinery (awaitable handlers, the cancellation slots of `&&`) cost as much
//   user time per message as nginx spends in all.
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
  // `single_thread`: http::ClientView's; the tunnel then runs on the thread's TunnelLoop and
  // leaves both sockets closed.
  WebSocketTunnel(boost::asio::ip::tcp::socket& client, boost::asio::ip::tcp::socket& upstream,
                  ProxyConfig const& cfg, Route const& route, Clock const& clock, ProxyStats& stats,
                  bool single_thread);

  // Runs until both directions have ended. `client_leftover` and `upstream_leftover` are
  // bytes already read past the handshake heads; they are sent first.
  boost::asio::awaitable<Result> run(boost::beast::flat_buffer& client_leftover,
                                     boost::beast::flat_buffer& upstream_leftover);

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Direction {  // the pumps on Asio's reactor
    boost::asio::ip::tcp::socket& from;
    boost::asio::ip::tcp::socket& to;
    boost::beast::flat_buffer& leftover;  // sent first
    char* buf;                            // tunnel_buffer_bytes
    std::uint64_t& counter;
  };
  // The pumps on the TunnelLoop (websocket_tunnel.cpp).
  struct Side;
  struct Pipe;
  struct Looped;

  boost::asio::awaitable<void> run_on_loop(boost::beast::flat_buffer& client_leftover,
                                           boost::beast::flat_buffer& upstream_leftover);
  void pump(Pipe& p);
  void start(Direction& d);
  void read(Direction& d);
  void on_read(Direction& d, boost::system::error_code ec, std::size_t n);
  // A direction has ended; a clean end (eof) passes the FIN on to `to_fd`.
  void finish(boost::system::error_code ec, int to_fd);
  // Starts `op(handler)` with the handler running on the client's strand.
  template <class Op, class Handler>
  void on_strand(boost::asio::ip::tcp::socket& io, Op op, Handler handler);
  void note_read(std::size_t n);  // activity and stats for bytes read from either side
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
  // The single-threaded io_context whose TunnelLoop runs the pumps; null: Asio's pumps.
  boost::asio::io_context* const loop_context_;
  boost::asio::steady_timer timer_;
  std::unique_ptr<char[]> buffers_;  // two halves of tunnel_buffer_bytes
  Looped* looped_ = nullptr;         // while run_on_loop runs
  SteadyTime last_io_;
  SteadyTime grace_until_ = SteadyTime::max();
  int pumps_done_ = 0;
  bool stopping_ = false;
  End end_ = End::closed;
  Result result_;
};

}  // namespace nbhub::proxy
