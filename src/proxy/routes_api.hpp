#pragma once
// configurable-http-proxy's REST API over a RouteTable (spec §6.2), so that JupyterHub's
// ConfigurableHTTPProxy (or any CHP client) can drive nbhub's proxy:
//
//   GET    /api/routes[?inactive_since=ISO8601]  200 {"<prefix>": {"target", "last_activity", ...data}}
//   GET    /api/routes/<path>                    200 that route's object, 404 if none ("/": the table)
//   POST   /api/routes/<path>  {"target": ...}   201; other keys are stored verbatim as data, and
//                                                 any target string is stored (unrelayable ones
//                                                 answer 502 when used, route_table.hpp)
//   DELETE /api/routes/<path>                    204, 404 if none
//
// Paths are decoded and normalised (leading '/', no trailing '/') as CHP does. Every call
// needs `Authorization: token <CONFIGPROXY_AUTH_TOKEN>` (compared in constant time) and gets
// 403 without it; with an empty token the API is open, as CHP's (the caller warns). Errors
// use JupyterHub's body {"status": N, "message": "..."}.
//
// Handlers run on the API listener's connection strands and only touch the RouteTable
// (thread-safe), so the API needs no lock of its own.
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/secret.hpp"
#include "http/router.hpp"
#include "proxy/route_table.hpp"

namespace spdlog {
class logger;
}

namespace nbhub::proxy {

class RoutesApi {
 public:
  // The routes and logger must outlive the API and every router it is installed on.
  RoutesApi(RouteTable& routes, Secret token, spdlog::logger& log);

  // Adds the routes above to `router`. The API object must outlive the router.
  void install(http::Router& router);

 private:
  bool authorized(http::Context const& ctx) const;
  http::Response list(http::Context const& ctx) const;
  http::Response get_one(std::string const& path) const;
  http::Response add(http::Context const& ctx, std::string const& path);
  http::Response remove(std::string const& path);

  RouteTable& routes_;
  Secret token_;
  spdlog::logger& log_;
};

// CHP's timestamps: JavaScript's Date.toISOString(), "2024-05-01T12:00:00.000Z".
std::string format_iso8601(Clock::SysTime t);
// Accepts "YYYY-MM-DD", optionally "THH:MM[:SS[.fraction]]" and "Z" or "±HH:MM" (no zone
// means UTC); nullopt for anything else.
std::optional<Clock::SysTime> parse_iso8601(std::string_view s);

}  // namespace nbhub::proxy
