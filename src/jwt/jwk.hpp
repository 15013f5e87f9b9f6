#pragma once
// One public verification key from a JWKS (RFC 7517), and the JWS algorithms we accept.
//
// Algorithms: RS256, RS384, RS512, PS256 (RSA, at least kMinRsaBits), ES256 (P-256) and ES384
// (P-384). HMAC algorithms are deliberately absent: a hub never shares a MAC key with an IdP,
// and accepting HS* next to RS* is the classic key-confusion attack. `none` is never accepted.
//
// The key material lives in a cjose_jwk_t (imported with cjose_jwk_import from the JWK JSON);
// cjose 0.6.2 verifies all six algorithms, so nothing here falls back to raw OpenSSL. A Jwk is
// immutable after import and is shared as shared_ptr<const Jwk>; concurrent verifications with
// one key are safe (cjose reads the key; its non-atomic refcount is never touched after import).
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "jwt/jwt_error.hpp"

struct _cjose_jwk_int;  // cjose_jwk_t, kept out of this header

namespace nbhub::jwt {

enum class Alg { rs256, rs384, rs512, ps256, es256, es384 };

// Exact, case-sensitive JOSE names (RFC 7518 §3.1). nullopt for anything else, including
// "none" and HS256.
std::optional<Alg> alg_from_string(std::string_view name) noexcept;
std::string_view to_string(Alg a) noexcept;

inline constexpr std::size_t kMinRsaBits = 2048;  // NIST SP 800-131A; smaller keys are skipped

enum class KeyType { rsa, ec };

class Jwk {
 public:
  // Imports one JWK object. Fails (with a reason, for the JWKS parser's debug notes) on a kty
  // other than RSA/EC, a curve other than P-256/P-384, an RSA modulus below kMinRsaBits,
  // malformed key material (cjose checks that an EC point is on its curve), or fields of the
  // wrong type. Does not look at `use`/`key_ops`: that is the JWKS parser's policy.
  static JwtResult<std::shared_ptr<Jwk const>> import(boost::json::object const& jwk);

  ~Jwk();
  Jwk(Jwk const&) = delete;
  Jwk& operator=(Jwk const&) = delete;

  std::string const& kid() const noexcept { return kid_; }               // "" when absent
  std::optional<std::string> const& alg() const noexcept { return alg_; }  // as published
  KeyType type() const noexcept { return type_; }
  std::string const& curve() const noexcept { return curve_; }  // "P-256"/"P-384"; "" for RSA
  std::size_t bits() const noexcept { return bits_; }           // modulus or curve size

  // Why this key must not verify a signature made with `alg`, or nullopt when it may: the key
  // type and curve must fit the algorithm, and a published `alg` must equal it (STYLE.md §7).
  std::optional<std::string> incompatibility(Alg alg) const;

  // Length in bytes of a correct signature by this key (RSA: modulus size; ECDSA: R||S).
  std::size_t signature_bytes() const noexcept;

  _cjose_jwk_int const* handle() const noexcept { return handle_; }

  // A short description for messages: "RSA 2048-bit key 'k1'".
  std::string describe() const;

 private:
  Jwk() = default;
  _cjose_jwk_int* handle_ = nullptr;  // owned
  std::string kid_;
  std::optional<std::string> alg_;
  KeyType type_ = KeyType::rsa;
  std::string curve_;
  std::size_t bits_ = 0;
};

}  // namespace nbhub::jwt
