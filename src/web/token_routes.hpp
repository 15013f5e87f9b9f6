#pragma once
// The identity provider's tokens for the user's own code (issue 6, docs/tokens.md):
//   GET /hub/api/user/oauth-token           the caller's own token (server API token, cookie
//                                           or any API token of the user)
//   GET /hub/api/users/{name}/oauth-token   admin:auth_state holders (and the user)
// Both answer {access_token, token_type, expires_at, expires_in, scope, provider} with an
// access token refreshed when near expiry; `?id_token=1` adds the ID token. A refresh the
// provider refuses answers 401 with a message saying to sign in again.
#include <string>

#include "http/router.hpp"

namespace spdlog { class logger; }
namespace nbhub::hub { class TokenRefresher; }

namespace nbhub::web {

class RequestAuth;

struct TokenRouteDeps {
  std::string base_url;
  RequestAuth& auth;
  hub::TokenRefresher& refresher;
  spdlog::logger& log;
  std::string jupyterhub_version = "3.0.0";
};

void add_token_routes(http::Router& router, TokenRouteDeps deps);

}  // namespace nbhub::web
