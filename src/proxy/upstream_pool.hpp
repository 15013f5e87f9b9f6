#pragma once
// Keep-alive connections to upstreams (user servers, services), pooled per target host:port
// so that a busy route does not open a connection per request (CHP #557: ephemeral ports run
// out at a few hundred users).
//
// Ownership. A connection belongs to exactly one exchange at a time (a unique_ptr); the pool
// holds only parked ones. A connection is parked only after an exchange that ended cleanly:
// the whole response read, nothing left over, the upstream did not ask to close.
//
// Executors. Sockets are made on the pool's (io_context) executor, not on a strand: the
// proxy's coroutines await them with use_awaitable, so completions run on the awaiting
// connection's strand, and no timer of the socket's own (Beast's tcp_stream has one) could
// run elsewhere. A parked connection may therefore be taken by any strand.
//
// Thread-safety. `take`, `put` and `connect` may be called from any thread; the parked lists
// are guarded by a mutex held only for list operations. A timer closes connections that stay
// parked longer than upstream_idle_timeout. The pool must outlive every exchange using it.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "http/deadline.hpp"
#include "proxy/proxy_config.hpp"
#include "proxy/route_table.hpp"

namespace nbhub::proxy {

struct UpstreamConnection {
  UpstreamConnection(boost::asio::ip::tcp::socket s, std::string k, std::size_t buffer_limit)
      : socket(std::move(s)), buffer(buffer_limit), key(std::move(k)) {}

  boost::asio::ip::tcp::socket socket;
  boost::beast::flat_buffer buffer;  // bytes read from the upstream, not yet parsed; bounded
  std::string key;                   // Target::key
  bool reused = false;               // taken from the pool (it may have gone stale meanwhile)
  std::chrono::steady_clock::time_point idle_since;
};
using UpstreamPtr = std::unique_ptr<UpstreamConnection>;

struct ConnectResult {
  UpstreamPtr conn;              // set on success
  boost::system::error_code ec;  // beast::error::timeout after connect_timeout
};

class UpstreamPool {
 public:
  // `ex` (an io_context executor) owns the sockets and runs the idle sweep timer; `reaper`
  // bounds connects and must outlive the pool.
  UpstreamPool(boost::asio::any_io_executor ex, ProxyConfig const& cfg, http::DeadlineReaper& reaper);
  ~UpstreamPool();  // closes parked connections
  UpstreamPool(UpstreamPool const&) = delete;
  UpstreamPool& operator=(UpstreamPool const&) = delete;

  // The most recently parked connection to `key`, or nullptr. With `check`, or when it was
  // parked for more than a second, it is first checked for a FIN or stray bytes from the
  // peer (one non-blocking peek); callers check before a request that cannot be retried.
  UpstreamPtr take(std::string const& key, bool check);
  // Parks `c` when it is open and its target has room; otherwise closes it.
  void put(UpstreamPtr c);
  // Opens a new connection (resolving the host unless it is an IP literal), with TCP_NODELAY,
  // within connect_timeout. `strand` is the caller's: the resolver completes there.
  // Errors: the connect/resolve error_code, or beast::error::timeout. Arguments by value
  // (STYLE.md §6.6).
  boost::asio::awaitable<ConnectResult> connect(Target target, boost::asio::any_io_executor strand);

  std::size_t idle_count() const;
  std::uint64_t connects() const noexcept { return connects_.load(std::memory_order_relaxed); }
  std::uint64_t reuses() const noexcept { return reuses_.load(std::memory_order_relaxed); }

  struct State;  // parked lists and the sweep timer; shared with the timer's handler

 private:
  boost::asio::any_io_executor ex_;
  http::DeadlineReaper& reaper_;
  std::size_t buffer_limit_;
  std::chrono::milliseconds connect_timeout_;
  std::shared_ptr<State> state_;
  std::atomic<std::uint64_t> connects_{0};
  std::atomic<std::uint64_t> reuses_{0};
};

}  // namespace nbhub::proxy
