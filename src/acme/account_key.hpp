#pragma once
// The ACME account key (RFC 8555 §6.2): an ECDSA P-256 key signing every request with ES256,
// its public JWK, and the JWK thumbprint (RFC 7638) that key authorizations are built from.
//
// Immutable after construction; const methods may run concurrently. The private key leaves this
// class only as PEM through to_pem(), to be sealed into the store; never log it.
#include <boost/json/object.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

struct evp_pkey_st;  // EVP_PKEY, kept out of this header

namespace nbhub::acme {

class AccountKey {
 public:
  // A fresh P-256 key from OpenSSL's generator. Errors: internal (OpenSSL failed).
  static Result<AccountKey> generate();
  // A key written by to_pem(). Errors: bad_request for PEM that is not a P-256 private key.
  static Result<AccountKey> from_pem(std::string_view pem);

  std::string to_pem() const;           // PKCS#8, unencrypted: seal it before storing
  boost::json::object public_jwk() const;  // {"crv":"P-256","kty":"EC","x":..,"y":..}
  std::string thumbprint() const;       // RFC 7638, base64url SHA-256
  // JWS ES256 signature of `signing_input` (RFC 7518 §3.4): raw R||S, 64 bytes.
  Result<std::string> sign_es256(std::string_view signing_input) const;

  evp_pkey_st* handle() const noexcept { return key_.get(); }

 private:
  struct Free {
    void operator()(evp_pkey_st* k) const noexcept;
  };
  explicit AccountKey(evp_pkey_st* k) : key_(k, Free{}) {}  // takes ownership
  std::shared_ptr<evp_pkey_st> key_;
};

// RFC 7638 §3: the SHA-256 of the JWK's required members (EC: crv, kty, x, y; RSA: e, kty, n)
// as JSON with sorted keys and no whitespace, base64url without padding. Errors: bad_request
// for another kty or a missing or non-string member.
Result<std::string> jwk_thumbprint(boost::json::object const& jwk);

// RFC 8555 §8.1: token "." thumbprint.
std::string key_authorization(std::string_view token, std::string_view thumbprint);

}  // namespace nbhub::acme
