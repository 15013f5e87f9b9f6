#pragma once
// BeastHttpClient: the production HttpClient (client.hpp), built on Boost.Beast 1.81 and
// Boost.Asio with C++20 coroutines, and OpenSSL 3 through asio::ssl. URLs are parsed with
// Boost.URL.
//
// Executors. `send` may be awaited from any executor and always resumes on the caller's
// executor. Socket I/O for one connection runs on that connection's own strand, made from the
// executor given at construction (whose io_context must be running), so concurrent callers
// on other threads never touch a socket at the same time (STYLE.md §6.1).
//
// Thread-safety. `send` may be called concurrently from any thread. The connection pool is
// guarded by a mutex (detail::ClientState::mu); the TLS context is configured once in
// the constructor and only read afterwards. The client must outlive every pending `send`
// (the composition root destroys it after the io_context has drained); the destructor
// closes idle connections.
//
// Errors (never thrown from `send`):
//   Errc::bad_request  unparseable URL, scheme other than http/https, credentials in the
//                      URL, invalid method or header (CR/LF/NUL, non-token name);
//   Errc::unavailable  DNS, connect, TLS handshake (incl. certificate and hostname
//                      verification), connection lost, and timeouts: "GET https://idp/token:
//                      timed out after 15 s" (request timeout) or "...: connecting to
//                      idp:443 timed out after 5 s" (connect timeout);
//   Errc::bad_gateway  malformed HTTP, "response larger than N bytes" (max_response_bytes
//                      caps the header block and the body, each);
//   Errc::internal     an unexpected exception caught at the boundary.
// Messages name the method and scheme://host[:port]/path only: never the query, userinfo,
// request headers (Authorization) or bodies. A 4xx/5xx status is a response, not an error.
//
// Requests. HTTP/1.1; `Host` and `User-Agent: nbhub/<NBHUB_VERSION>` are set unless the
// caller sets them; `Content-Length` is computed (a caller's Content-Length,
// Transfer-Encoding and Accept-Encoding are dropped: bodies are never decoded). Responses
// may be chunked, Content-Length or read-to-EOF; 1xx interim responses are skipped.
//
// Deadlines. One deadline per `send`: ClientRequest::timeout or config request_timeout,
// covering DNS, connect, TLS, write, read and a retry. DNS + TCP connect + TLS handshake are
// additionally bounded by connect_timeout. On expiry the socket is closed.
//
// TLS. TLS 1.2 or newer; SNI for DNS names; the peer chain is verified against the system
// store (set_default_verify_paths) plus config ca_file, and the leaf against the URL host
// with asio::ssl::host_name_verification (DNS name or IP literal). tls_verify=false turns
// both checks off and warns once at construction. A ca_file that cannot be loaded makes the
// constructor throw std::runtime_error (startup only, STYLE.md §4).
//
// Pool. Keep-alive connections are keyed by (scheme, host, port). After a complete
// response whose connection may persist (no `Connection: close`, not HTTP/1.0 without
// keep-alive, not read-to-EOF, no bytes left over), the connection is parked; at most
// max_idle_per_host per key (0 disables pooling; extras are closed). Reuse is LIFO. Parked
// connections are closed once idle for idle_timeout (a timer sweeps them) and are checked
// for a peer close (non-blocking peek) before reuse. A connection is never reused after an
// error, a timeout, or a response that was not read to its end. If a reused connection
// fails before any response byte arrives, the request is retried once on a new connection
// when the method is idempotent (GET HEAD PUT DELETE OPTIONS TRACE) or the request was
// never written.
//
// Calling from a coroutine with GCC 12: build the request as a named variable and move it
// in (`ClientRequest req{...}; co_await http.send(std::move(req));`). GCC 12 miscompiles a
// braced aggregate temporary inside a co_await expression (`co_await http.send({.url = u})`):
// its strings are copied bitwise and freed twice. Clang 14 is fine.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/fwd.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "http/client.hpp"

namespace nbhub::http {

namespace detail {

// A ClientRequest checked and taken apart for sending; Beast-free (client_common.cpp).
struct PreparedRequest {
  std::string method;
  bool tls = false;
  std::string host;         // without brackets, names lower-cased: DNS, SNI, certificate check
  std::string port;         // digits; 80 or 443 when the URL has none
  std::string unix_socket;  // connect here instead of host:port (ClientRequest::unix_socket)
  std::string pool_key;     // scheme://host:port
  std::string shown;        // scheme://host[:port]/path: no userinfo, query or fragment
  std::string host_header;  // host[:port] as written in the URL
  std::string target;       // origin-form: path (at least "/") and ?query
  bool idempotent = false;  // RFC 9110 §9.2.2
  std::chrono::milliseconds timeout{0};
  Headers headers;  // validated; Content-Length, Transfer-Encoding, Accept-Encoding dropped
  std::string body;
};

// Errc::bad_request when the request cannot be sent as given (see the error list above).
Result<PreparedRequest> prepare_request(ClientRequest req,
                                        std::chrono::milliseconds default_timeout);

struct ClientState;  // TLS context, pool and sweep timer; defined in client_impl.cpp

}  // namespace detail

class BeastHttpClient final : public HttpClient {
 public:
  // `ex` is the executor connections and the idle sweep run on (not a strand: each
  // connection makes its own). `log` must outlive the client.
  BeastHttpClient(boost::asio::any_io_executor ex, config::HttpClientConfig const& cfg,
                  spdlog::logger& log);
  BeastHttpClient(boost::asio::io_context& ioc, config::HttpClientConfig const& cfg,
                  spdlog::logger& log);
  ~BeastHttpClient() override;
  BeastHttpClient(BeastHttpClient const&) = delete;
  BeastHttpClient& operator=(BeastHttpClient const&) = delete;

  boost::asio::awaitable<Result<ClientResponse>> send(ClientRequest req) override;
  boost::asio::awaitable<Result<ClientResponse>> stream(ClientRequest req, ChunkHandler on_chunk,
                                                        StreamOptions opts) override;

  // Parked connections over all hosts.
  std::size_t idle_connections_for_test() const;

 private:
  boost::asio::any_io_executor ex_;
  spdlog::logger& log_;
  // Holds a copy of the config slice (a reload may swap the original). Shared, weakly, with
  // the idle sweep timer's handler.
  std::shared_ptr<detail::ClientState> state_;
};

}  // namespace nbhub::http
