#pragma once
// A hook for requests that must not be buffered: the built-in proxy streams `/user/<name>/...`
// to the user's server (bodies both ways, WebSocket upgrades). The listener reads the request
// head with a bounded parser, asks the interceptor, and either hands the connection over or
// reads the body itself for the router.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "http/tls_stream.hpp"

#include <cstdint>
#include <string>

namespace nbhub::http {

using HeadParser = boost::beast::http::request_parser<boost::beast::http::empty_body>;

// What the listener knows about the client, with X-Forwarded-* from trusted proxies applied.
struct ClientView {
  std::string remote_ip;
  std::string host;     // Host the browser used
  bool secure = false;  // the browser came over https
  std::uint64_t conn_id = 0;
  // The listener's io_context runs on one thread and this connection has no strand: what
  // serves it may share per-thread state with other connections (proxy/tunnel_loop.hpp).
  bool single_thread = false;
  bool tls = false;  // this connection is TLS (served through the TlsStream overload)
  // This request's id (http/request_id.hpp); "" when the listener gives none (`nbhub proxy`).
  std::string request_id;
};

class Interceptor {
 public:
  virtual ~Interceptor() = default;
  // Called on the connection's strand once the head is parsed (body not read). Cheap: it
  // runs for every request.
  virtual bool claims(HeadParser const& head) const = 0;
  // Serves the claimed request, reading its body from `stream`/`buffer` through `parser` and
  // writing the whole response; for an upgrade it serves the connection until it closes.
  // Runs on the connection's strand; stream deadlines are the interceptor's business. Returns
  // true when the connection may carry another request. Must not throw.
  virtual boost::asio::awaitable<bool> serve(boost::beast::tcp_stream& stream,
                                             boost::beast::flat_buffer& buffer, HeadParser& parser,
                                             ClientView client) = 0;
  // The same over TLS (the public listener with ssl_cert).
  virtual boost::asio::awaitable<bool> serve(TlsStream& stream, boost::beast::flat_buffer& buffer,
                                             HeadParser& parser, ClientView client) = 0;
};

}  // namespace nbhub::http
