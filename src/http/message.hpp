#pragma once
// Server-side request/response types and the per-request context handed to handlers.
// Handlers see parsed, bounded messages; they never touch sockets (STYLE.md §2: handlers are thin).
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nbhub::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

// A body sent while it is produced (a text/event-stream that lasts as long as a spawn): the
// listener writes the response head with chunked transfer coding, then each piece next()
// gives, until it gives nullopt. next() may wait; a piece may be empty of events (a keep-alive).
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  virtual boost::asio::awaitable<std::optional<std::string>> next() = 0;
};

struct Context {
  Request const& req;
  std::string path;                 // percent-decoded path, without the query
  std::string raw_target;           // as received (never logged: the query may hold secrets)
  std::multimap<std::string, std::string> query;  // decoded query parameters
  std::vector<std::string> params;  // segments captured by {name} in the route pattern
  std::string remote_ip;
  std::uint64_t conn_id = 0;
  bool secure = false;              // the browser reached us over https (directly or via a trusted proxy)
  std::string host;                 // Host the browser used (X-Forwarded-Host from a trusted proxy)
  // Set by a handler whose body follows the head over time (the returned Response is then
  // only the head); the listener drives it.
  std::shared_ptr<BodyStream> body_stream;

  std::string header(std::string_view name) const;
  std::optional<std::string> cookie(std::string_view name) const;
  std::optional<std::string> query_param(std::string_view name) const;  // first value
  std::string scheme() const { return secure ? "https" : "http"; }
};

using Handler = std::function<boost::asio::awaitable<Response>(Context&)>;

// Response builders. All of them set Content-Type and the default security headers.
Response text_response(unsigned status, std::string body, std::string_view content_type);
Response html_response(unsigned status, std::string body);
Response json_response(unsigned status, std::string body);
Response redirect_response(std::string location, unsigned status = 302);
// JupyterHub's API error body: {"status": N, "message": "..."}.
Response json_error(unsigned status, std::string_view message);

}  // namespace nbhub::http
