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

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual boost::asio::awaitable<Result<ClientResponse>> send(ClientRequest req) = 0;
};

// Form encoding (application/x-www-form-urlencoded, WHATWG URL §5.2), shared by OAuth
// requests: UTF-8 bytes, `*-._` and alphanumerics kept, space as '+', all else %XX (upper case).
std::string form_encode(std::vector<std::pair<std::string, std::string>> const& fields);

// The value of an `Authorization: Basic` header for OAuth client authentication. RFC 6749
// §2.3.1: client id and secret are each form-urlencoded before joining with ':' and base64.
std::string basic_auth_header(std::string_view client_id, std::string_view client_secret);

}  // namespace nbhub::http
