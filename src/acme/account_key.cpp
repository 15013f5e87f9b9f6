#include "acme/account_key.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json/serialize.hpp>

#include <vector>

#include "acme/openssl_util.hpp"
#include "core/crypto.hpp"

namespace nbhub::acme {

namespace {

constexpr std::size_t kCoordinateBytes = 32;  // P-256

bool is_p256(EVP_PKEY* k) {
  char group[64] = {};
  std::size_t len = 0;
  return EVP_PKEY_is_a(k, "EC") &&
         EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) == 1 &&
         std::string_view(group, len) == "prime256v1";
}

std::string coordinate(EVP_PKEY* k, char const* param) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(k, param, &bn) != 1) return {};
  std::string out(kCoordinateBytes, '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), kCoordinateBytes);
  BN_free(bn);
  return out;
}

}  // namespace

void AccountKey::Free::operator()(evp_pkey_st* k) const noexcept { EVP_PKEY_free(k); }

Result<AccountKey> AccountKey::generate() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (!k) return make_error(Errc::internal, "acme: generating a P-256 account key failed: " + openssl_error());
  return AccountKey(k);
}

Result<AccountKey> AccountKey::from_pem(std::string_view pem) {
  auto k = read_private_key(pem);
  if (!k) return k.error();
  if (!is_p256(k->get()))
    return make_error(Errc::bad_request, "acme: the stored account key is not a P-256 EC key");
  return AccountKey(k->release());
}

std::string AccountKey::to_pem() const { return private_key_pem(key_.get()); }

boost::json::object AccountKey::public_jwk() const {
  return {{"crv", "P-256"},
          {"kty", "EC"},
          {"x", crypto::base64url_encode(coordinate(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X))},
          {"y", crypto::base64url_encode(coordinate(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y))}};
}

std::string AccountKey::thumbprint() const {
  auto t = jwk_thumbprint(public_jwk());
  return t ? *t : std::string{};  // our own JWK always has the members
}

Result<std::string> AccountKey::sign_es256(std::string_view signing_input) const {
  auto der = sign_sha256(key_.get(), signing_input);
  if (!der) return der.error();
  // OpenSSL writes an ASN.1 ECDSA-Sig-Value; JWS wants R||S, each padded to 32 bytes.
  auto const* p = reinterpret_cast<unsigned char const*>(der->data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der->size()));
  if (!sig) return make_error(Errc::internal, "acme: cannot read OpenSSL's ECDSA signature");
  std::string out(2 * kCoordinateBytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), o, kCoordinateBytes);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), o + kCoordinateBytes, kCoordinateBytes);
  ECDSA_SIG_free(sig);
  return out;
}

Result<std::string> jwk_thumbprint(boost::json::object const& jwk) {
  auto const* kty = jwk.if_contains("kty");
  if (!kty || !kty->is_string())
    return make_error(Errc::bad_request, "JWK thumbprint: the key has no string \"kty\"");
  std::vector<char const*> members;
  if (kty->as_string() == "EC")
    members = {"crv", "kty", "x", "y"};
  else if (kty->as_string() == "RSA")
    members = {"e", "kty", "n"};
  else
    return make_error(Errc::bad_request, "JWK thumbprint: unsupported kty \"" +
                                             std::string(kty->as_string()) + "\"");
  // Written by hand rather than serialized from an object: RFC 7638 §3.3 fixes the order
  // (lexicographic, as listed above) and forbids whitespace.
  std::string canonical = "{";
  for (auto const* m : members) {
    auto const* v = jwk.if_contains(m);
    if (!v || !v->is_string())
      return make_error(Errc::bad_request,
                        std::string("JWK thumbprint: the key has no string \"") + m + "\"");
    if (canonical.size() > 1) canonical += ',';
    canonical += boost::json::serialize(boost::json::string(m));
    canonical += ':';
    canonical += boost::json::serialize(v->as_string());
  }
  canonical += '}';
  return crypto::base64url_encode(crypto::sha256(canonical));
}

std::string key_authorization(std::string_view token, std::string_view thumbprint) {
  std::string out(token);
  out += '.';
  out += thumbprint;
  return out;
}

}  // namespace nbhub::acme
