#include "jwt/jwt_error.hpp"

#include <stdexcept>

namespace nbhub::jwt {

std::string_view to_string(JwtCode c) noexcept {
  switch (c) {
    case JwtCode::malformed: return "malformed";
    case JwtCode::unsupported_alg: return "unsupported_alg";
    case JwtCode::unknown_kid: return "unknown_kid";
    case JwtCode::bad_signature: return "bad_signature";
    case JwtCode::expired: return "expired";
    case JwtCode::not_yet_valid: return "not_yet_valid";
    case JwtCode::issued_in_future: return "issued_in_future";
    case JwtCode::wrong_issuer: return "wrong_issuer";
    case JwtCode::wrong_audience: return "wrong_audience";
    case JwtCode::wrong_azp: return "wrong_azp";
    case JwtCode::wrong_nonce: return "wrong_nonce";
    case JwtCode::missing_claim: return "missing_claim";
    case JwtCode::wrong_token_use: return "wrong_token_use";
    case JwtCode::client_not_allowed: return "client_not_allowed";
    case JwtCode::jwks_unavailable: return "jwks_unavailable";
  }
  return "malformed";
}

Errc to_errc(JwtCode c) noexcept {
  return c == JwtCode::jwks_unavailable ? Errc::unavailable : Errc::unauthorized;
}

void JwtError::rename_subject(std::string_view name) {
  constexpr std::string_view kSubject = "token";
  if (name == kSubject || message.compare(0, kSubject.size(), kSubject) != 0) return;
  message.replace(0, kSubject.size(), name);
}

void throw_exception_from_error(JwtError const& e, boost::source_location const&) {
  throw std::runtime_error(std::string(to_string(e.code)) + ": " + e.message);
}

}  // namespace nbhub::jwt
