#pragma once
// The outbound HTTP client seam (STYLE.md §5): IdP token/userinfo/JWKS/discovery calls, and
// later readiness polls and the Docker/Kubernetes APIs. The interface carries no Beast types
// so that protocol code (auth/) compiles without Beast.
//
// Contract:
//  * `send` may be called from any executor; the coroutine resumes on the caller's executor.
//  * It never throws. Errors: Errc::unavailable (DNS, connect, TLS handshake, timeout,
//    connection reset), Errc::bad_gateway (malformed HTTP, response larger than
//    max_response_bytes), Errc::bad_request (unparseable URL or unsupported scheme).
//    An HTTP error status (4xx/5xx) is NOT an error: it is returned as a response.
//  * Messages name the method and the URL without its query string (queries may carry
//    secrets, e.g. Custos' token exchange).
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace nbhub::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct ClientRequest {
  std::string method = "GET";  // GET, POST, PUT, PATCH, DELETE, HEAD
  std::string url;             // http:// or https://
  // When set, the connection goes to this unix socket (the Docker Engine API's
  // /var/run/docker.sock) instead of the URL's host and port; the URL must be http:// and
  // still supplies the Host header and the path. Pooled per socket path.
  std::string unix_socket;
  Headers headers;
  std::string body;
  std::optional<std::chrono::milliseconds> timeout;  // overrides the client's request timeout
};

struct ClientResponse {
  unsigned status = 0;
  Headers headers;
  std::string body;
  // First header with this name (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

// Receives the pieces of a streamed 2xx body in order, never concurrently, on an unspecified
// thread; it must not block. Returning false ends the stream (the connection is closed).
using ChunkHandler = std::function<bool(std::string_view)>;

// Ends a stream from any thread: the pending read completes and `stream` returns the head it
// got, as when the handler returns false. Cancelling before the stream started ends it at
// once; cancelling twice is harmless.
class StreamCancel {
 public:
  void cancel() {
    std::function<void()> hook;
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      hook = std::move(hook_);
    }
    if (hook) hook();
  }
  bool cancelled() const {
    std::lock_guard lock(mu_);
    return cancelled_;
  }
  // For HttpClient implementations: what cancel() must do while a stream runs. false when
  // already cancelled (the hook is not kept).
  bool set_hook(std::function<void()> hook) {
    std::lock_guard lock(mu_);
    if (cancelled_) return false;
    hook_ = std::move(hook);
    return true;
  }
  void clear_hook() {
    std::lock_guard lock(mu_);
    hook_ = nullptr;
  }

 private:
  mutable std::mutex mu_;
  bool cancelled_ = false;               // GUARDED_BY(mu_)
  std::function<void()> hook_;           // GUARDED_BY(mu_)
};

struct StreamOptions {
  // A body that sends nothing for this long fails with Errc::unavailable ("stalled"): a
  // Kubernetes watch that went silent. 0 = only the request's own deadline applies.
  std::chrono::milliseconds idle_timeout{0};
  std::shared_ptr<StreamCancel> cancel;  // optional
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual boost::asio::awaitable<Result<ClientResponse>> send(ClientRequest req) = 0;

  // Like `send`, but a 2xx body is handed to `on_chunk` as it arrives instead of being kept
  // (long-running responses: Kubernetes watches, one JSON event per line). The response it
  // returns then has an empty body; a non-2xx response is returned whole, as by `send`
  // (bounded by max_response_bytes), and `on_chunk` is not called. The request deadline
  // (ClientRequest::timeout) covers the whole stream. Streamed connections are never
  // pooled. Errors as `send`; a body that breaks off or stalls is Errc::unavailable. This
  // default implementation, for clients that cannot stream, delivers the body in one piece.
  virtual boost::asio::awaitable<Result<ClientResponse>> stream(ClientRequest req,
                                                                ChunkHandler on_chunk,
                                                                StreamOptions opts);
};

// Form encoding (application/x-www-form-urlencoded, WHATWG URL §5.2), shared by OAuth
// requests: UTF-8 bytes, `*-._` and alphanumerics kept, space as '+', all else %XX (upper case).
std::string form_encode(std::vector<std::pair<std::string, std::string>> const& fields);

// The value of an `Authorization: Basic` header for OAuth client authentication. RFC 6749
// §2.3.1: client id and secret are each form-urlencoded before joining with ':' and base64.
std::string basic_auth_header(std::string_view client_id, std::string_view client_secret);

}  // namespace nbhub::http
