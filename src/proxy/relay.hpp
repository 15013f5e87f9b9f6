#pragma once
// One HTTP/1.1 exchange relayed between a client and an upstream connection, both bodies
// streamed through one fixed buffer: the pattern of Beast's relay() (example/doc/
// http_examples.hpp) made asynchronous, with buffer_body for the request and
// UpstreamResponseParser for the response. A slow reader on either side stalls the reads
// from the other side (backpressure) instead of growing memory: per exchange at most the
// upstream's read buffer plus `chunk` bytes of body are held. Heads and framing are written
// with plain gather writes (head_writer.hpp), tried at once with a non-blocking send.
//
// Executor: call on the client connection's strand. I/O goes to the plain sockets (the
// listener's tcp_stream timers stay off: the listener disables them before handing over),
// and one Deadline (http/deadline.hpp) bounds every read and write: response_header_timeout
// for the response head, stall_timeout for each other operation. The references passed to
// `exchange` must outlive the awaited call (the caller awaits it directly).
//
// Framing towards the client follows the client's HTTP version: an upstream body delimited
// by connection close is re-chunked for HTTP/1.1 clients; a chunked body is sent raw, with
// Connection: close, to HTTP/1.0 clients. HEAD, 1xx, 204 and 304 carry no body. Interim
// responses (100, 103) from the upstream are dropped; a request's `Expect: 100-continue` is
// answered by the proxy just before the body is read.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstdint>
#include <string>

#include "core/clock.hpp"
#include "http/deadline.hpp"
#include "http/tls_stream.hpp"
#include "proxy/head_writer.hpp"
#include "proxy/proxy_config.hpp"
#include "proxy/proxy_stats.hpp"
#include "proxy/route_table.hpp"
#include "proxy/upstream_pool.hpp"

namespace nbhub::proxy {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;

struct ExchangeOutcome {
  // What went wrong, if anything. Before `response_started` the caller answers the client
  // (502/503/504); after it, the client connection can only be closed.
  enum class Failure {
    none,
    upstream_unavailable,  // closed or reset before a response head: 503
    upstream_timeout,      // no response head in response_header_timeout, or a stall: 504
    upstream_invalid,      // malformed or oversized head, 101 to a non-upgrade: 502
    upstream_broken,       // failed while the body was relayed (response already started)
    client_gone,           // the client failed or stalled; nothing more can be sent
  };
  Failure failure = Failure::none;
  std::string detail;              // for the operator's log: "read response head: timeout"
  unsigned status = 0;             // the status relayed to the client, 0 if none
  bool response_started = false;   // bytes of the response reached the client socket
  bool body_started = false;       // bytes of the request body were read from the client
  bool request_read = false;       // the whole request (its body too) was read from the client
  bool stale = false;              // a reused connection failed before any response byte
  bool upgraded = false;           // 101 relayed: the caller tunnels the two connections
  bool client_keep_alive = false;  // the client connection may carry another request
  bool upstream_parked = false;    // `up` went back to the pool (and is now null)
};

class Relay {
 public:
  // All references must outlive the relay.
  Relay(ProxyConfig const& cfg, ProxyStats& stats, Clock const& clock, UpstreamPool& pool)
      : cfg_(cfg), stats_(stats), clock_(clock), pool_(pool) {}

  // Sends `head` (the request head as written by write_upstream_request) and the body of
  // `req` to `up`, then the response back to `client`; `head` is reused for the response
  // head once the upstream has answered. `chunk` holds cfg.buffer_bytes. A request that
  // `websocket` marks as an upgrade stops after relaying a 101 head. As soon as the upstream's
  // side of a keep-alive exchange is complete (before the last bytes go to the client), `up`
  // is parked in the pool and unwatched by `deadline`, so that the client's next request, on
  // this or another connection, finds it there.
  // A non-empty `request_id` (the hub's, http/request_id.hpp) goes to the client as the
  // response's X-Request-Id, replacing any the upstream sent; `nbhub proxy` passes "".
  // `ClientIo`: the plain connection's tcp::socket, or http::TlsStream (both instantiated).
  template <class ClientIo>
  boost::asio::awaitable<ExchangeOutcome> exchange(ClientIo& client,
                                                   boost::beast::flat_buffer& client_buffer,
                                                   RequestParser& req, HeadBuffer& head, bool expect_continue,
                                                   bool client_keep_alive, bool websocket, UpstreamPtr& up,
                                                   Route const& route, std::string_view request_id, char* chunk,
                                                   http::Deadline& deadline);

 private:
  ProxyConfig const& cfg_;
  ProxyStats& stats_;
  Clock const& clock_;
  UpstreamPool& pool_;
};

}  // namespace nbhub::proxy
