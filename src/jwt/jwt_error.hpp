#pragma once
// Outcomes of JWT verification and how they leave this component (STYLE.md §4).
//
// Every failure carries a flat `JwtCode` (also a metric/log label via to_string) and a message
// for the operator. Messages are sentences whose subject is the word "token"
// ("token signed with kid 'abc', which is not in ..."); Validator swaps that word for
// Expectations::token_name ("ID token signed with ..."). They never contain a token, a
// signature or key material; claim values that identify no secret (iss, aud, kid, alg) are
// quoted so that operators can compare them with their config.
//
// Why a second error type: nbhub::Error carries only the coarse Errc that decides the HTTP
// status. Callers that need the precise reason (metrics, tests, "expired: refresh instead of
// re-login") read JwtError::code; everyone else converts implicitly to nbhub::Error:
//   auto claims = co_await validator.validate(...);
//   if (!claims) return claims.error();   // JwtError -> nbhub::Error inside a Result<T> function
#include <boost/system/result.hpp>

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace nbhub::jwt {

// Lower-case values to match nbhub::Errc (the brief's spelling; STYLE.md §3 says PascalCase).
enum class JwtCode {
  malformed,           // not a compact JWS, bad base64url/JSON, claim of the wrong type
  unsupported_alg,     // alg none, not in the allow-list, or not usable with the selected key
  unknown_kid,         // no JWKS key matches the token's kid (after the allowed refetch)
  bad_signature,       // the signature does not verify with the selected key
  expired,             // exp passed (beyond leeway), or older than max_age_since_iat
  not_yet_valid,       // nbf in the future beyond leeway
  issued_in_future,    // iat in the future beyond leeway
  wrong_issuer,        // iss differs from the expected issuer
  wrong_audience,      // aud contains none of the expected audiences
  wrong_azp,           // multi-valued aud with an azp that is not our client id
  wrong_nonce,         // nonce differs from the one sent with the login request
  missing_claim,       // a required claim is absent
  wrong_token_use,     // Cognito token_use differs (e.g. an access token where an ID token is due)
  client_not_allowed,  // Cognito access token whose client_id is not allow-listed
  jwks_unavailable,    // no keys: the JWKS could not be fetched or parsed and none are cached
};

std::string_view to_string(JwtCode c) noexcept;

// Errc::unavailable for jwks_unavailable (the IdP, not the token, is at fault; 503),
// Errc::unauthorized for everything else.
Errc to_errc(JwtCode c) noexcept;

struct JwtError {
  JwtCode code = JwtCode::malformed;
  std::string message;

  Error to_error() const { return Error{to_errc(code), message}; }
  operator Error() const { return to_error(); }  // NOLINT: implicit on purpose, see above

  // Replaces the leading subject "token" of the message by `name` ("ID token").
  void rename_subject(std::string_view name);
};

template <class T = void>
using JwtResult = boost::system::result<T, JwtError>;

// Drops the JwtCode, keeping the coarse Errc and the message.
template <class T>
Result<T> to_result(JwtResult<T> r) {
  if (!r) return r.error().to_error();
  if constexpr (std::is_void_v<T>) {
    return {};
  } else {
    return std::move(*r);
  }
}

// For boost::system::result::value() on a JwtResult (tests only; request code checks `if (!r)`).
[[noreturn]] void throw_exception_from_error(JwtError const& e, boost::source_location const& loc);

}  // namespace nbhub::jwt
