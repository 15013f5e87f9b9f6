#pragma once
// Compact JWS (RFC 7515 §7.1) parsing and signature verification.
//
// Parsing is strict and bounded: at most kMaxJwsBytes, exactly three segments of the base64url
// alphabet without padding, each in canonical encoding (re-encoding the decoded bytes gives the
// segment back, so one signature has one spelling), a JSON-object header with a string `alg`.
// A `crit` header is rejected (we implement no extensions, RFC 7515 §4.1.11). `jku`, `x5u`,
// `jwk` and `x5c` headers are ignored: keys come only from the provider's configured JWKS.
//
// Verification is done by cjose 0.6.2 (cjose_jws_import + cjose_jws_verify), which implements
// every algorithm we allow (see jwk.hpp), after our own checks that cjose lacks: the key type
// and curve must fit the alg, a key's published alg must equal the token's, and the signature
// must have exactly the length the key produces (cjose would split a short or DER-encoded ECDSA
// signature anywhere, and accept zero-padded R||S spellings).
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "jwt/jwk.hpp"
#include "jwt/jwt_error.hpp"

namespace nbhub::jwt {

inline constexpr std::size_t kMaxJwsBytes = 16 * 1024;

struct JwsHeader {
  Alg alg = Alg::rs256;
  std::optional<std::string> kid;
  std::optional<std::string> typ;
};

// A parsed, NOT yet verified token. Nothing read from it is trustworthy before
// verify_signature() succeeds.
class Jws {
 public:
  // Errors: malformed (shape, encoding, JSON, types, crit), unsupported_alg (`none` in any
  // spelling, HS*, anything outside Alg).
  static JwtResult<Jws> parse(std::string_view compact);

  JwsHeader const& header() const noexcept { return header_; }
  Alg alg() const noexcept { return header_.alg; }
  std::string const& compact() const noexcept { return compact_; }
  std::string const& payload() const noexcept { return payload_; }      // decoded bytes
  std::string const& signature() const noexcept { return signature_; }  // decoded bytes

 private:
  JwsHeader header_;
  std::string compact_;
  std::string payload_;
  std::string signature_;
};

// unsupported_alg unless the token's alg is one of `allowed` (exact JOSE names). An empty
// allow-list allows nothing (fail closed: a provider without configured algorithms is a bug).
JwtResult<void> check_alg_allowed(Jws const& jws, std::span<std::string const> allowed);

// Errors: unsupported_alg (key type, curve or published alg does not fit the token's alg),
// bad_signature (wrong length, or cjose's verification fails), malformed (cjose rejects the
// serialization that parse() accepted; not expected).
JwtResult<void> verify_signature(Jws const& jws, Jwk const& key);

}  // namespace nbhub::jwt
