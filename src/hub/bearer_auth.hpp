#pragma once
// JWT access tokens from configured identity providers as credentials for the hub REST API
// (issue 6 part 3: API-to-API with client-credentials tokens, and users' own access tokens).
//
// Validation is local: JWKS signature (keys from jwt::JwksCache, which refetches on an unknown
// `kid` at most once per interval, so random kids cannot make nbhub hammer the IdP), `iss`
// (picks the provider: only providers with `bearer_tokens = true` and a known issuer),
// `exp`/`nbf` with the provider's leeway, `aud` in `bearer_audiences` (default: the hub's own
// client id) or, when `bearer_client_ids` is set, `client_id` in that list; Cognito providers
// also require `token_use = access`, and an ID token (`token_use = id`) is never a bearer token.
// Allowed algorithms come from `bearer_algs`: `none` and HS256 (algorithm confusion with the
// provider's public key) are refused by jwt::Validator.
//
// Who the token is: a token whose client is in `bearer_services` and that names no user is that
// service (client credentials); a token carrying the provider's `username_claim` is that hub
// user. Anything else is refused. `bearer_scopes` maps the token's `scope` values to nbhub
// scopes, added to a service's scopes (users keep exactly their own role scopes).
//
// Validated tokens are cached (by SHA-256) until they expire, so a repeated token costs one
// hash and a map lookup: no IdP call and no signature check per request.
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/snapshot.hpp"

namespace spdlog { class logger; }
namespace nbhub::jwt { class JwksCache; }

namespace nbhub::hub {

struct BearerPrincipal {
  std::string provider;
  std::string client_id;            // the token's client_id/azp ("" when absent)
  std::optional<std::string> user;  // hub user name (normalized) for users' tokens
  std::optional<std::string> service;  // service name for client-credentials tokens
  std::vector<std::string> scopes;  // nbhub scopes granted through bearer_scopes
  std::int64_t expires_at = 0;      // unix seconds
};

struct BearerStats {
  std::size_t validated = 0;   // full validations (signature + claims)
  std::size_t cache_hits = 0;
  std::size_t refused = 0;
};

class BearerAuth {
 public:
  // `providers` with presets applied (and discovery done); only those with bearer_tokens count.
  // Both are read per token, so a reload applies to the next token checked (see
  // forget_cached()).
  BearerAuth(SnapshotRef<std::vector<config::ProviderConfig>> providers,
             SnapshotRef<std::map<std::string, std::string>> username_map, jwt::JwksCache& jwks,
             Clock const& clock, spdlog::logger& log, std::size_t max_cached = 10000);

  // True when at least one provider (of the current set) accepts bearer tokens.
  bool enabled() const;
  // After a reload: tokens already validated are checked again under the new settings.
  void forget_cached();

  // A compact JWS (three base64url parts): hub API tokens never contain a '.'.
  static bool looks_like_jwt(std::string_view token);

  // Errors: unauthorized with a message naming the reason (unknown issuer, expired, wrong
  // audience, bad signature, ...), unavailable when the provider's keys cannot be fetched.
  // Never contains the token.
  boost::asio::awaitable<Result<BearerPrincipal>> authenticate(std::string token);

  BearerStats stats() const;
  spdlog::logger& log() const { return log_; }  // for callers reporting later refusals

 private:
  Result<BearerPrincipal> principal_for(config::ProviderConfig const& p,
                                        boost::json::object const& claims) const;

  SnapshotRef<std::vector<config::ProviderConfig>> providers_;
  SnapshotRef<std::map<std::string, std::string>> username_map_;
  jwt::JwksCache& jwks_;
  Clock const& clock_;
  spdlog::logger& log_;
  std::size_t max_cached_;
  mutable std::mutex mu_;
  std::map<std::string, BearerPrincipal> cache_;  // GUARDED_BY(mu_), by sha256 hex
  BearerStats stats_;                             // GUARDED_BY(mu_)
};

}  // namespace nbhub::hub
