#include "web/cors.hpp"

#include <algorithm>

#include "config/config.hpp"

namespace nbhub::web {

namespace net = boost::asio;
using http::Context;
using http::Response;

namespace {

// Origins compare by scheme, host and port (RFC 6454 §5); scheme and host are case-insensitive.
std::string canonical(std::string_view o) {
  while (!o.empty() && o.back() == '/') o.remove_suffix(1);
  std::string out(o);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

constexpr std::string_view kMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
// JupyterHub's default Access-Control-Allow-Headers, plus the two nbhub also reads.
constexpr std::string_view kHeaders = "accept, content-type, authorization, x-xsrftoken, x-csrftoken";

}  // namespace

std::optional<std::string> cors_allow_origin(std::vector<std::string> const& allowed, std::string_view origin,
                                             bool root) {
  if (origin.empty()) return std::nullopt;  // not a cross-origin request from a browser
  if (root) return std::string("*");
  auto const want = canonical(origin);
  for (auto const& a : allowed) {
    if (a == "*") return std::string("*");
    if (canonical(a) == want) return std::string(origin);
  }
  return std::nullopt;
}

void add_cors(http::Router& router, SnapshotRef<config::HubConfig> cfg, std::string route_base) {
  auto const api = route_base + "hub/api";
  auto in_api = [api](std::string_view path) {
    return path == api || (path.size() > api.size() && path.starts_with(api) && path[api.size()] == '/');
  };
  auto is_root = [api](std::string_view path) { return path == api || path == api + "/"; };
  // A preflight carries no credentials, so it is answered before any authentication, for any
  // origin; only an allowed one gets the headers that let the browser go on (JupyterHub's
  // APIHandler.options answers 200 the same way).
  http::Handler preflight = [](Context&) -> net::awaitable<Response> {
    auto res = http::json_response(204, "");
    res.erase(http::bhttp::field::content_type);
    co_return res;
  };
  router.add(http::bhttp::verb::options, api, preflight);
  router.add(http::bhttp::verb::options, api + "/*", preflight);
  router.decorate([cfg, in_api, is_root](Context const& ctx, Response& res) {
    if (!in_api(ctx.path)) return;
    auto const origin = ctx.header("Origin");
    auto allow = cors_allow_origin(cfg.load()->cors_allow_origins, origin, is_root(ctx.path));
    if (!allow) return;
    res.set(http::bhttp::field::access_control_allow_origin, *allow);
    if (*allow != "*") res.set(http::bhttp::field::vary, "Origin");
    if (ctx.req.method() == http::bhttp::verb::options) {
      res.set(http::bhttp::field::access_control_allow_methods, kMethods);
      res.set(http::bhttp::field::access_control_allow_headers, kHeaders);
      res.set(http::bhttp::field::access_control_max_age, "600");
    }
  });
}

}  // namespace nbhub::web
