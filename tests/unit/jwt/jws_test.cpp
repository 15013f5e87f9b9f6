#include "jwt/jws.hpp"

#include <gtest/gtest.h>

#include "core/crypto.hpp"
#include "unit/jwt/test_signer.hpp"

namespace nbhub::jwt {
namespace {

using test::b64json;
using test::Keys;
using test::make_jwt;

boost::json::object payload() { return {{"sub", "alice"}, {"iss", "https://idp.test"}}; }

std::shared_ptr<Jwk const> import(boost::json::object const& jwk) {
  auto k = Jwk::import(jwk);
  EXPECT_TRUE(k) << (k ? "" : k.error().message);
  return k ? *k : nullptr;
}

JwtCode parse_code(std::string_view token) {
  auto r = Jws::parse(token);
  EXPECT_FALSE(r) << token;
  return r ? JwtCode::jwks_unavailable : r.error().code;
}

std::string segments(boost::json::object const& header, std::string const& sig = "c2ln") {
  return b64json(header) + "." + b64json(payload()) + "." + sig;
}

TEST(Jws, ParsesHeaderAndPayload) {
  auto token = make_jwt(Keys::get().rsa1, "RS256", payload());
  auto r = Jws::parse(token);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->alg(), Alg::rs256);
  EXPECT_EQ(r->header().kid.value_or(""), "rsa-1");
  EXPECT_EQ(r->header().typ.value_or(""), "JWT");
  EXPECT_EQ(r->payload(), boost::json::serialize(payload()));
  EXPECT_EQ(r->signature().size(), 256u);
}

TEST(Jws, RejectsWrongSegmentCount) {
  EXPECT_EQ(parse_code("abc.def"), JwtCode::malformed);
  EXPECT_EQ(parse_code("a.b.c.d"), JwtCode::malformed);
  auto five = Jws::parse("a.b.c.d.e");
  ASSERT_FALSE(five);
  EXPECT_NE(five.error().message.find("JWE"), std::string::npos) << five.error().message;
  EXPECT_EQ(parse_code(""), JwtCode::malformed);
}

TEST(Jws, RejectsOversizedToken) {
  auto big = segments({{"alg", "RS256"}}, std::string(kMaxJwsBytes, 'A'));
  auto r = Jws::parse(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::malformed);
  EXPECT_NE(r.error().message.find("16384"), std::string::npos);
}

TEST(Jws, RejectsBadEncodingAndJson) {
  auto const h = b64json({{"alg", "RS256"}});
  auto const p = b64json(payload());
  EXPECT_EQ(parse_code(h + "=." + p + ".c2ln"), JwtCode::malformed);   // padding
  EXPECT_EQ(parse_code(h + "." + p + ".c2l+"), JwtCode::malformed);    // base64, not url
  // "QR" decodes to the same byte as "QQ": only the canonical spelling is accepted.
  EXPECT_TRUE(Jws::parse(h + "." + p + ".QQ"));
  EXPECT_EQ(parse_code(h + "." + p + ".QR"), JwtCode::malformed);
  EXPECT_EQ(parse_code(h + "." + p + "."), JwtCode::malformed);  // empty signature
  EXPECT_EQ(parse_code(crypto::base64url_encode("{not json") + "." + p + ".c2ln"),
            JwtCode::malformed);
  EXPECT_EQ(parse_code(crypto::base64url_encode("[1]") + "." + p + ".c2ln"), JwtCode::malformed);
  EXPECT_EQ(parse_code(segments({{"typ", "JWT"}})), JwtCode::malformed);               // no alg
  EXPECT_EQ(parse_code(segments({{"alg", 256}})), JwtCode::malformed);                 // alg type
  EXPECT_EQ(parse_code(segments({{"alg", "RS256"}, {"kid", 1}})), JwtCode::malformed);  // kid
  EXPECT_EQ(parse_code(segments({{"alg", "RS256"}, {"crit", {"b64"}}, {"b64", false}})),
            JwtCode::malformed);
}

TEST(Jws, RejectsAlgNoneInEverySpelling) {
  for (auto alg : {"none", "None", "NONE", "nOnE"}) {
    auto r = Jws::parse(b64json({{"alg", alg}}) + "." + b64json(payload()) + ".");
    ASSERT_FALSE(r) << alg;
    EXPECT_EQ(r.error().code, JwtCode::unsupported_alg) << alg;
    EXPECT_NE(r.error().message.find("unsigned"), std::string::npos);
  }
}

TEST(Jws, RejectsAlgorithmsOutsideTheSupportedSet) {
  for (auto alg : {"HS256", "HS512", "ES512", "PS512", "EdDSA", "rs256", ""})
    EXPECT_EQ(parse_code(segments({{"alg", alg}})), JwtCode::unsupported_alg) << alg;
}

TEST(Jws, AllowListIsExactAndEmptyAllowsNothing) {
  auto jws = Jws::parse(make_jwt(Keys::get().rsa1, "RS384", payload()));
  ASSERT_TRUE(jws);
  std::vector<std::string> rs256{"RS256"}, both{"RS256", "RS384"}, none;
  auto r = check_alg_allowed(*jws, rs256);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::unsupported_alg);
  EXPECT_NE(r.error().message.find("[RS256]"), std::string::npos) << r.error().message;
  EXPECT_TRUE(check_alg_allowed(*jws, both));
  EXPECT_FALSE(check_alg_allowed(*jws, none));
}

TEST(Jws, VerifiesEverySupportedAlgorithm) {
  auto const& k = Keys::get();
  for (auto [alg, key] : {std::pair{"RS256", &k.rsa1}, {"RS384", &k.rsa1}, {"RS512", &k.rsa1},
                          {"PS256", &k.rsa1}, {"ES256", &k.ec256}, {"ES384", &k.ec384}}) {
    auto jws = Jws::parse(make_jwt(*key, alg, payload()));
    ASSERT_TRUE(jws) << alg;
    auto jwk = import(key->jwk());
    auto ok = verify_signature(*jws, *jwk);
    EXPECT_TRUE(ok) << alg << ": " << (ok ? "" : ok.error().message);
  }
}

TEST(Jws, TamperedPayloadFailsSignature) {
  auto token = make_jwt(Keys::get().rsa1, "RS256", payload());
  auto d1 = token.find('.'), d2 = token.rfind('.');
  auto forged = token.substr(0, d1 + 1) + b64json({{"sub", "admin"}}) + token.substr(d2);
  auto jws = Jws::parse(forged);
  ASSERT_TRUE(jws);
  auto r = verify_signature(*jws, *import(Keys::get().rsa1.jwk()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::bad_signature);
  EXPECT_NE(r.error().message.find("'rsa-1'"), std::string::npos) << r.error().message;
}

TEST(Jws, SignatureByAnotherKeyFails) {
  for (auto alg : {"RS256", "PS256"}) {
    auto jws = Jws::parse(make_jwt(Keys::get().rsa2, alg, payload()));
    ASSERT_TRUE(jws);
    auto r = verify_signature(*jws, *import(Keys::get().rsa1.jwk()));
    ASSERT_FALSE(r) << alg;
    EXPECT_EQ(r.error().code, JwtCode::bad_signature);
  }
  auto other_ec = test::TestKey::ec("ec-other");
  auto jws = Jws::parse(make_jwt(other_ec, "ES256", payload()));
  ASSERT_TRUE(jws);
  auto r = verify_signature(*jws, *import(Keys::get().ec256.jwk()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::bad_signature);
}

TEST(Jws, RejectsDerOrPaddedEcdsaSignatures) {
  auto const& key = Keys::get().ec256;
  auto const input = b64json({{"alg", "ES256"}, {"kid", "ec-256"}}) + "." + b64json(payload());
  auto jwk = import(key.jwk());
  auto der = Jws::parse(input + "." + crypto::base64url_encode(key.sign_der(input)));
  ASSERT_TRUE(der);
  auto r = verify_signature(*der, *jwk);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::bad_signature);

  auto raw = key.sign("ES256", input);
  std::string padded = std::string(1, '\0') + raw.substr(0, 32) + std::string(1, '\0') +
                       raw.substr(32);
  auto pad = Jws::parse(input + "." + crypto::base64url_encode(padded));
  ASSERT_TRUE(pad);
  EXPECT_FALSE(verify_signature(*pad, *jwk));
  auto good = Jws::parse(input + "." + crypto::base64url_encode(raw));
  EXPECT_TRUE(verify_signature(*good, *jwk));
}

TEST(Jws, KeyMustFitTheAlgorithm) {
  auto const& k = Keys::get();
  auto es256 = Jws::parse(make_jwt(k.ec256, "ES256", payload()));
  auto r = verify_signature(*es256, *import(k.rsa1.jwk()));  // RSA key for an EC alg
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::unsupported_alg);
  r = verify_signature(*es256, *import(k.ec384.jwk()));  // wrong curve
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::unsupported_alg);
  auto ps256 = Jws::parse(make_jwt(k.rsa1, "PS256", payload()));
  r = verify_signature(*ps256, *import(k.rsa1.jwk("RS256")));  // published alg differs
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::unsupported_alg);
  EXPECT_NE(r.error().message.find("published for alg 'RS256'"), std::string::npos)
      << r.error().message;
}

TEST(Jwk, RejectsSmallRsaKeysAndUnsupportedCurves) {
  auto small = Jwk::import(test::TestKey::rsa("small", 1024).jwk());
  ASSERT_FALSE(small);
  EXPECT_NE(small.error().message.find("1024-bit"), std::string::npos) << small.error().message;
  EXPECT_FALSE(Jwk::import(test::TestKey::ec("p521", "P-521").jwk()));
  EXPECT_FALSE(Jwk::import({{"kty", "oct"}, {"k", "c2VjcmV0"}}));
  EXPECT_FALSE(Jwk::import({{"kty", "RSA"}, {"n", "AQAB"}}));  // no e
  auto bad_point = Keys::get().ec256.jwk();
  bad_point["y"] = bad_point["x"];  // not on the curve
  EXPECT_FALSE(Jwk::import(bad_point));
}

TEST(JwtError, CodesMapToErrcAndNames) {
  EXPECT_EQ(to_errc(JwtCode::jwks_unavailable), Errc::unavailable);
  for (int c = 0; c <= static_cast<int>(JwtCode::jwks_unavailable); ++c) {
    auto code = static_cast<JwtCode>(c);
    if (code != JwtCode::jwks_unavailable) {
      EXPECT_EQ(to_errc(code), Errc::unauthorized);
    }
    EXPECT_FALSE(to_string(code).empty());
  }
  EXPECT_EQ(to_string(JwtCode::wrong_azp), "wrong_azp");
  JwtError e{JwtCode::expired, "token expired at X"};
  Error plain = e;
  EXPECT_EQ(plain.code, Errc::unauthorized);
  EXPECT_EQ(plain.message, "token expired at X");
  e.rename_subject("ID token");
  EXPECT_EQ(e.message, "ID token expired at X");
  JwtResult<int> r = JwtError{JwtCode::jwks_unavailable, "down"};
  auto converted = to_result(std::move(r));
  ASSERT_FALSE(converted);
  EXPECT_EQ(converted.error().code, Errc::unavailable);
}

}  // namespace
}  // namespace nbhub::jwt
