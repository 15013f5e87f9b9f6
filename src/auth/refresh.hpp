#pragma once
// The OAuth2 refresh-token grant (RFC 6749 §6) and the bookkeeping of auth_state around it:
// when the stored access token expires, and how a refresh answer is merged in. Protocol only,
// like login_flow: the per-user orchestration (store, encryption, single flight) is
// hub/token_refresher.
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "core/result.hpp"
#include "http/client.hpp"

namespace spdlog { class logger; }

namespace nbhub::auth {

// POSTs grant_type=refresh_token to the provider's token endpoint, authenticating the client
// as the code exchange does (token_auth). Returns the token response. Errors:
//   unauthorized  the provider refused the refresh token (invalid_grant, revoked, expired,
//                 HTTP 400/401): the user must sign in again
//   unavailable   the provider could not be reached or answered 5xx
//   bad_gateway   an answer that is not a JSON object or has no access_token
// Neither the refresh token nor the client secret appear in messages or logs.
boost::asio::awaitable<Result<boost::json::object>> refresh_grant(config::ProviderConfig const& p,
                                                                  http::HttpClient& http,
                                                                  std::string refresh_token,
                                                                  spdlog::logger& log);

// The client-credentials grant (RFC 6749 §4.4) for scripts and `nbhub token client-credentials`.
boost::asio::awaitable<Result<boost::json::object>> client_credentials_grant(
    config::ProviderConfig const& p, http::HttpClient& http, std::string scope,
    spdlog::logger& log);

// When the stored access token expires, in unix seconds: `expires_at` (written by nbhub after
// each refresh), else the `exp` of the access token when it is a JWT (read without verifying:
// it is our own stored copy, used only to decide when to refresh), else `refreshed_at` +
// token_response.expires_in. nullopt: unknown (an opaque token without expires_in).
std::optional<std::int64_t> access_token_expiry(boost::json::object const& auth_state,
                                                std::optional<std::int64_t> refreshed_at);

// auth_state after a successful refresh: the new access token (and ID token when the answer
// has one), the new refresh token when the provider rotated it, else the old one kept
// (Cognito never rotates by default; OAuthenticator keeps it the same way), `token_response`
// replaced (with the kept refresh token), `scope` updated when sent, and `expires_at`.
boost::json::object merge_refreshed(boost::json::object auth_state,
                                    boost::json::object const& token_response,
                                    std::int64_t now_unix);

// The string at `key`, or "" when absent or not a string.
std::string json_string(boost::json::object const& o, std::string_view key);

// The payload of a compact JWT without verifying it; nullopt when it is not one.
std::optional<boost::json::object> unverified_payload(std::string_view jwt);

}  // namespace nbhub::auth
