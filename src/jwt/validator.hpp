#pragma once
// JWT validation: signature (via the JWKS cache or given keys) and claim checks.
//
// Order of checks, each failing with its own JwtCode (first failure wins):
//   shape/encoding (malformed) -> alg allow-list and `none` (unsupported_alg) -> key selection
//   (unknown_kid, unsupported_alg, jwks_unavailable) -> signature (bad_signature) -> payload is
//   a JSON object (malformed) -> iss -> token_use -> sub (when required) -> aud -> azp ->
//   client_id -> exp -> nbf -> iat / max_age_since_iat -> nonce.
// A claim present with the wrong type is `malformed`; a required claim that is absent is
// `missing_claim`. Times come from the injected Clock; every time check allows `leeway`.
//
// Fail-closed choices: an empty `issuer` rejects every token (wrong_issuer); an empty
// `allowed_algs` rejects every token (unsupported_alg); a multi-valued aud with an azp claim
// is rejected when `azp_client_id` is empty.
// Deliberately not checked (documented, not forgotten): `typ`, `at_hash`/`c_hash`, `sub`
// presence unless `require_sub` (ID tokens set it; access tokens of some providers have none),
// `auth_time`/max_age, `scope`; callers check what their flow needs on Claims.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "jwt/claims.hpp"
#include "jwt/jwks.hpp"
#include "jwt/jwks_cache.hpp"
#include "jwt/jwt_error.hpp"

namespace nbhub::jwt {

struct Expectations {
  std::string issuer;                  // exact string match with `iss` (required)
  std::vector<std::string> audiences;  // any-of; empty = don't check aud
  std::optional<std::string> nonce;    // set for ID tokens from a login we started
  std::vector<std::string> allowed_algs;  // per provider, e.g. {"RS256"}; empty allows nothing
  std::chrono::seconds leeway{60};
  // Cognito (spec/auth.md §4.3, §4.7): "id" for ID tokens, "access" for access tokens.
  std::optional<std::string> token_use;
  // Cognito access tokens have no aud; their `client_id` must be one of these (if non-empty).
  std::vector<std::string> allowed_client_ids;
  // OIDC Core 3.1.3.7: with several audiences and an `azp` claim, azp must equal this.
  std::string azp_client_id;
  bool require_exp = true;
  // OIDC Core §2: an ID token's `sub` is REQUIRED, a non-empty string. Without it the token
  // names nobody, and userinfo's `sub` (§5.3.2) has nothing to be compared with.
  bool require_sub = false;
  std::optional<std::chrono::seconds> max_age_since_iat;  // reject tokens issued longer ago
  std::string token_name = "token";  // subject of error messages: "ID token", "access token"
};

// Claim checks alone, on an already verified payload (also used by validate*).
JwtResult<void> check_claims(Claims const& claims, Expectations const& expect, Clock const& clock);

// Synchronous validation against keys the caller already holds.
JwtResult<Claims> validate_with_keys(std::string_view jwt, Expectations const& expect,
                                     Jwks const& keys, Clock const& clock);

class Validator {
 public:
  // References must outlive the Validator; the Validator must outlive running validate()s.
  Validator(JwksCache& keys, Clock const& clock) : keys_(keys), clock_(clock) {}

  // Looks the key up in `jwks_url`'s cached set (fetching/refetching as JwksCache describes),
  // then verifies. Any executor; resumes on the caller's. Never throws. Errors: every JwtCode;
  // messages start with expect.token_name.
  boost::asio::awaitable<JwtResult<Claims>> validate(std::string jwt, Expectations expect,
                                                     std::string jwks_url);

  JwtResult<Claims> validate_with_keys(std::string_view jwt, Expectations const& expect,
                                       Jwks const& keys) const {
    return jwt::validate_with_keys(jwt, expect, keys, clock_);
  }

 private:
  JwksCache& keys_;
  Clock const& clock_;
};

}  // namespace nbhub::jwt
