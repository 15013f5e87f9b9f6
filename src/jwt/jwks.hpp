#pragma once
// A JWK Set (RFC 7517 §5): the provider's public signing keys, and key selection for a token.
//
// Parsing keeps every key that can verify signatures and skips, with a note for the debug log
// (notes()), keys with `use` other than "sig", `key_ops` without "verify", a kty other than
// RSA/EC, unsupported curves, RSA keys under kMinRsaBits and broken key material. One bad key
// does not discard the set: IdPs publish encryption keys and odd keys next to signing keys.
//
// Selection (select()), per STYLE.md §7:
//  * token with a kid: the keys with that kid; the first one whose type/curve and published
//    `alg` fit the token's alg. None with that kid -> unknown_kid (the cache refetches);
//    some, but none fitting -> unsupported_alg (a refetch would not help).
//  * token without kid (or with kid ""): the key usable for the token's alg if there is exactly
//    one; otherwise unknown_kid ("refusing to guess"), never a try-every-key loop.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jwt/jwk.hpp"
#include "jwt/jwt_error.hpp"

namespace nbhub::jwt {

inline constexpr std::size_t kMaxJwksBytes = 256 * 1024;

class Jwks {
 public:
  Jwks() = default;
  // `source` names the document in messages (normally the jwks_uri).
  Jwks(std::vector<std::shared_ptr<Jwk const>> keys, std::string source);

  // Errors: jwks_unavailable when the document is larger than kMaxJwksBytes, is not JSON, or is
  // not an object with a "keys" array. An empty or all-skipped set parses (and selects nothing).
  static JwtResult<Jwks> parse(std::string_view json, std::string source);

  JwtResult<std::shared_ptr<Jwk const>> select(std::string_view kid, Alg alg) const;

  std::vector<std::shared_ptr<Jwk const>> const& keys() const noexcept { return keys_; }
  std::vector<std::string> const& notes() const noexcept { return notes_; }
  std::string const& source() const noexcept { return source_; }

 private:
  std::vector<std::shared_ptr<Jwk const>> keys_;
  std::vector<std::string> notes_;
  std::string source_;
};

}  // namespace nbhub::jwt
