#include "http/https_redirect.hpp"

#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace nbhub::http {

namespace {

// A Host header's name part, or "" when it is not a plain host name, IPv4 or [IPv6] address
// (it becomes part of a Location header: nothing else may pass).
std::string host_name(std::string_view host) {
  if (host.starts_with('[')) {
    auto end = host.find(']');
    if (end == std::string_view::npos) return {};
    host = host.substr(0, end + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  bool ok = !host.empty() && std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '[' || c == ']' || c == ':';
  });
  return ok ? std::string(host) : std::string();
}

}  // namespace

Handler https_redirect(std::uint16_t https_port, std::string public_url) {
  std::string origin;
  if (auto u = boost::urls::parse_absolute_uri(public_url); u && u->scheme() == "https")
    origin = fmt::format("https://{}", u->encoded_authority());
  return [https_port, origin](Context& ctx) -> boost::asio::awaitable<Response> {
    std::string target = ctx.raw_target.empty() || ctx.raw_target.front() != '/' ? "/" : ctx.raw_target;
    std::string base = origin;
    if (base.empty()) {
      auto host = host_name(ctx.host);
      if (host.empty()) co_return json_error(400, "This port redirects to https; the Host header is missing or invalid.");
      base = https_port == 443 ? fmt::format("https://{}", host) : fmt::format("https://{}:{}", host, https_port);
    }
    auto res = html_response(301, "<!DOCTYPE html>\n<title>Moved</title><p>This hub is served over https.</p>\n");
    res.set(bhttp::field::location, base + target);
    co_return res;
  };
}

}  // namespace nbhub::http
