#include "acme/account_key.hpp"
#include "acme/jws_request.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json/parse.hpp>

#include "core/crypto.hpp"

using namespace nbhub;
using namespace nbhub::acme;

namespace {

boost::json::object decode_object(std::string const& b64) {
  auto raw = crypto::base64url_decode(b64);
  EXPECT_TRUE(raw);
  return boost::json::parse(raw.value_or("{}")).as_object();
}

// Verifies a JWS ES256 signature (raw R||S) with the key, through OpenSSL directly.
bool verify_es256(AccountKey const& key, std::string const& input, std::string const& sig) {
  if (sig.size() != 64) return false;
  ECDSA_SIG* s = ECDSA_SIG_new();
  auto const* p = reinterpret_cast<unsigned char const*>(sig.data());
  ECDSA_SIG_set0(s, BN_bin2bn(p, 32, nullptr), BN_bin2bn(p + 32, 32, nullptr));
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(s, &der);
  ECDSA_SIG_free(s);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.handle()) == 1 &&
            EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_len),
                             reinterpret_cast<unsigned char const*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}

}  // namespace

// RFC 7638 §3.1: the example RSA key and its thumbprint.
TEST(JwkThumbprint, MatchesTheRfc7638Example) {
  boost::json::object jwk{
      {"kty", "RSA"},
      {"n",
       "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
       "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
       "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
       "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
      {"e", "AQAB"},
      {"alg", "RS256"},
      {"kid", "2011-04-29"}};
  auto t = jwk_thumbprint(jwk);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(*t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST(JwkThumbprint, RefusesAnUnknownKeyTypeOrAMissingMember) {
  EXPECT_FALSE(jwk_thumbprint({{"kty", "oct"}, {"k", "abc"}}));
  auto missing = jwk_thumbprint({{"kty", "EC"}, {"crv", "P-256"}, {"x", "abc"}});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("\"y\""), std::string::npos);
}

TEST(AccountKey, PemRoundTripKeepsTheKeyAndItsThumbprint) {
  auto key = AccountKey::generate();
  ASSERT_TRUE(key);
  auto jwk = key->public_jwk();
  EXPECT_EQ(jwk.at("kty").as_string(), "EC");
  EXPECT_EQ(jwk.at("crv").as_string(), "P-256");
  EXPECT_EQ(crypto::base64url_decode(jwk.at("x").as_string())->size(), 32u);
  auto again = AccountKey::from_pem(key->to_pem());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->thumbprint(), key->thumbprint());
  EXPECT_EQ(key->thumbprint().size(), 43u);  // base64url of 32 bytes, unpadded
}

TEST(AccountKey, RefusesPemThatIsNotAP256Key) {
  EXPECT_FALSE(AccountKey::from_pem("not a key"));
  EVP_PKEY* rsa = EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, rsa, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  auto r = AccountKey::from_pem(std::string(data, static_cast<std::size_t>(n)));
  BIO_free(bio);
  EVP_PKEY_free(rsa);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("P-256"), std::string::npos);
}

TEST(JwsRequest, NewAccountCarriesTheJwkAndAValidEs256Signature) {
  auto key = AccountKey::generate();
  ASSERT_TRUE(key);
  auto body = sign_request(*key, {"https://ca/new-acct", "nonce-1", "", R"({"termsOfServiceAgreed":true})"});
  ASSERT_TRUE(body);
  auto jws = boost::json::parse(*body).as_object();
  ASSERT_EQ(jws.size(), 3u);  // flattened JSON: protected, payload, signature
  auto header = decode_object(std::string(jws.at("protected").as_string()));
  EXPECT_EQ(header.at("alg").as_string(), "ES256");
  EXPECT_EQ(header.at("nonce").as_string(), "nonce-1");
  EXPECT_EQ(header.at("url").as_string(), "https://ca/new-acct");
  EXPECT_EQ(header.at("jwk").as_object(), key->public_jwk());
  EXPECT_FALSE(header.contains("kid"));
  EXPECT_EQ(*crypto::base64url_decode(jws.at("payload").as_string()), R"({"termsOfServiceAgreed":true})");
  auto sig = crypto::base64url_decode(jws.at("signature").as_string());
  ASSERT_TRUE(sig);
  std::string input = std::string(jws.at("protected").as_string()) + "." +
                      std::string(jws.at("payload").as_string());
  EXPECT_TRUE(verify_es256(*key, input, *sig));
  EXPECT_FALSE(verify_es256(*key, input + "x", *sig));
}

TEST(JwsRequest, LaterRequestsUseTheKidAndPostAsGetHasAnEmptyPayload) {
  auto key = AccountKey::generate();
  ASSERT_TRUE(key);
  auto body = sign_request(*key, {"https://ca/authz/1", "n2", "https://ca/acct/7", std::nullopt});
  ASSERT_TRUE(body);
  auto jws = boost::json::parse(*body).as_object();
  auto header = decode_object(std::string(jws.at("protected").as_string()));
  EXPECT_EQ(header.at("kid").as_string(), "https://ca/acct/7");
  EXPECT_FALSE(header.contains("jwk"));
  EXPECT_EQ(jws.at("payload").as_string(), "");
}

TEST(KeyAuthorization, IsTokenDotThumbprint) {
  EXPECT_EQ(key_authorization("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
                              "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"),
            "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}
