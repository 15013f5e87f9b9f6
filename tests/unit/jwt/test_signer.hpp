#pragma once
// Test-only JWT signer: RSA and EC keys generated at test time with OpenSSL 3 EVP, their public
// JWKs, and compact JWS signing for RS*/PS256/ES*/HS256. Independent of the cjose-based verifier
// under test, so a bug there cannot cancel out in the tests.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "core/crypto.hpp"

namespace nbhub::jwt::test {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};

inline void check(bool ok, char const* what) {
  if (!ok) throw std::runtime_error(std::string("test_signer: ") + what);
}

class TestKey {
 public:
  static TestKey rsa(std::string kid, unsigned bits = 2048) {
    TestKey k;
    k.kid_ = std::move(kid);
    k.pkey_ = std::shared_ptr<EVP_PKEY>(EVP_RSA_gen(bits), PkeyFree{});
    check(k.pkey_ != nullptr, "EVP_RSA_gen");
    return k;
  }
  static TestKey ec(std::string kid, char const* curve = "P-256") {
    TestKey k;
    k.kid_ = std::move(kid);
    k.curve_ = curve;
    k.pkey_ = std::shared_ptr<EVP_PKEY>(EVP_EC_gen(curve), PkeyFree{});
    check(k.pkey_ != nullptr, "EVP_EC_gen");
    return k;
  }

  std::string const& kid() const { return kid_; }
  bool is_ec() const { return !curve_.empty(); }
  std::size_t coord_bytes() const { return curve_ == "P-384" ? 48 : curve_ == "P-521" ? 66 : 32; }

  // Public JWK; `alg`/`use` added when given, kid omitted when the key's kid is empty.
  boost::json::object jwk(std::optional<std::string> alg = {},
                          std::optional<std::string> use = {}) const {
    boost::json::object o;
    if (is_ec()) {
      o["kty"] = "EC";
      o["crv"] = curve_;
      o["x"] = b64u(bn(OSSL_PKEY_PARAM_EC_PUB_X, coord_bytes()));
      o["y"] = b64u(bn(OSSL_PKEY_PARAM_EC_PUB_Y, coord_bytes()));
    } else {
      o["kty"] = "RSA";
      o["n"] = b64u(bn(OSSL_PKEY_PARAM_RSA_N));
      o["e"] = b64u(bn(OSSL_PKEY_PARAM_RSA_E));
    }
    if (!kid_.empty()) o["kid"] = kid_;
    if (alg) o["alg"] = *alg;
    if (use) o["use"] = *use;
    return o;
  }

  std::string public_pem() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    check(PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) == 1, "PEM_write_bio_PUBKEY");
    char* data = nullptr;
    auto len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
  }

  // Raw JWS signature bytes (ECDSA as fixed-width R||S, RFC 7518 §3.4).
  std::string sign(std::string_view alg, std::string_view input) const {
    EVP_MD const* md = alg.ends_with("384") ? EVP_sha384()
                       : alg.ends_with("512") ? EVP_sha512()
                                              : EVP_sha256();
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    EVP_PKEY_CTX* pctx = nullptr;
    check(EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, pkey_.get()) == 1, "DigestSignInit");
    if (alg.starts_with("PS")) {
      check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1, "pss padding");
      check(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1, "pss salt");
    }
    auto const* in = reinterpret_cast<unsigned char const*>(input.data());
    std::size_t len = 0;
    check(EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) == 1, "DigestSign size");
    std::string sig(len, '\0');
    check(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                         input.size()) == 1,
          "DigestSign");
    sig.resize(len);
    if (!is_ec() || !alg.starts_with("ES")) return sig;
    return der_to_raw(sig);
  }

  std::string der_to_raw(std::string const& der) const {
    auto const* p = reinterpret_cast<unsigned char const*>(der.data());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> s(
        d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), &ECDSA_SIG_free);
    check(s != nullptr, "d2i_ECDSA_SIG");
    std::string raw(2 * coord_bytes(), '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    BN_bn2binpad(ECDSA_SIG_get0_r(s.get()), out, static_cast<int>(coord_bytes()));
    BN_bn2binpad(ECDSA_SIG_get0_s(s.get()), out + coord_bytes(), static_cast<int>(coord_bytes()));
    return raw;
  }

  // DER-encoded ECDSA signature, as a confused signer would produce.
  std::string sign_der(std::string_view input) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    check(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey_.get()) == 1, "init");
    std::size_t len = 0;
    auto const* in = reinterpret_cast<unsigned char const*>(input.data());
    check(EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) == 1, "size");
    std::string sig(len, '\0');
    check(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                         input.size()) == 1,
          "sign");
    sig.resize(len);
    return sig;
  }

 private:
  static std::string b64u(std::string_view raw) { return crypto::base64url_encode(raw); }

  std::string bn(char const* param, std::size_t width = 0) const {
    BIGNUM* b = nullptr;
    check(EVP_PKEY_get_bn_param(pkey_.get(), param, &b) == 1, param);
    std::string out(width ? width : static_cast<std::size_t>(BN_num_bytes(b)), '\0');
    BN_bn2binpad(b, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
    BN_free(b);
    return out;
  }

  std::string kid_;
  std::string curve_;
  std::shared_ptr<EVP_PKEY> pkey_;
};

inline std::string b64json(boost::json::object const& o) {
  return crypto::base64url_encode(boost::json::serialize(o));
}

// header.payload.signature with the header's alg; kid taken from the key unless `header`
// already decides ("kid": null in `header` removes it).
inline std::string make_jwt(TestKey const& key, std::string const& alg, boost::json::object payload,
                            boost::json::object header = {}) {
  if (!header.contains("alg")) header["alg"] = alg;
  if (!header.contains("kid") && !key.kid().empty()) header["kid"] = key.kid();
  if (auto const* kid = header.if_contains("kid"); kid && kid->is_null()) header.erase("kid");
  if (!header.contains("typ")) header["typ"] = "JWT";
  auto input = b64json(header) + "." + b64json(payload);
  return input + "." + crypto::base64url_encode(key.sign(alg, input));
}

// HS256 with an arbitrary secret (the alg-confusion attack uses the RSA public key PEM).
inline std::string make_hs256_jwt(std::string_view secret, boost::json::object payload,
                                  std::string kid) {
  boost::json::object header{{"alg", "HS256"}, {"typ", "JWT"}, {"kid", kid}};
  auto input = b64json(header) + "." + b64json(payload);
  return input + "." + crypto::base64url_encode(crypto::hmac_sha256(secret, input));
}

inline std::string make_jwks(std::vector<boost::json::object> keys) {
  boost::json::array arr;
  for (auto& k : keys) arr.push_back(std::move(k));
  return boost::json::serialize(boost::json::object{{"keys", std::move(arr)}});
}

// Keys are slow to generate (RSA), so each test binary makes them once.
struct Keys {
  TestKey rsa1 = TestKey::rsa("rsa-1");
  TestKey rsa2 = TestKey::rsa("rsa-2");
  TestKey ec256 = TestKey::ec("ec-256");
  TestKey ec384 = TestKey::ec("ec-384", "P-384");
  static Keys const& get() {
    static Keys const k;
    return k;
  }
};

}  // namespace nbhub::jwt::test
