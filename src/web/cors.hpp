#pragma once
// CORS for the hub REST API (/hub/api): which origins' pages may read its answers from a
// browser. JupyterHub sets one static header for this (tornado_settings = {"headers":
// {"Access-Control-Allow-Origin": ...}}) and, since 5.0, `*` on the root /hub/api; nbhub
// keeps a list of origins (`cors_allow_origins`) and answers each request for its own origin
// only, so a second allowed origin never sees the first one's name.
//
// No Access-Control-Allow-Credentials is ever sent: a cross-origin page must use a token
// (Authorization header), never the user's cookie, which would bring back the cross-site
// requests that the _xsrf rules refuse (request_auth.hpp).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/snapshot.hpp"
#include "http/router.hpp"

namespace nbhub::config { struct HubConfig; }

namespace nbhub::web {

// The Access-Control-Allow-Origin value for a request from `origin` (its Origin header), or
// nullopt: no CORS headers. `allowed` holds origins as configured ("https://app.example.org",
// compared without a trailing '/' and without case in scheme and host) or "*". `root`: the
// request is for /hub/api itself, which any origin may read (JupyterHub 5.0).
std::optional<std::string> cors_allow_origin(std::vector<std::string> const& allowed, std::string_view origin,
                                             bool root);

// Registers OPTIONS (preflight) for every /hub/api path and a decorator adding the CORS
// headers to /hub/api answers. Call after the API routes are added.
void add_cors(http::Router& router, SnapshotRef<config::HubConfig> cfg, std::string route_base);

}  // namespace nbhub::web
