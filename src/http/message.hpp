#pragma once
// Server-side request/response types and the per-request context handed to handlers.
// Handlers see parsed, bounded messages; they never touch sockets (STYLE.md §2: handlers are thin).
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nbhub::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

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
