#include "jwt/validator.hpp"

#include <gtest/gtest.h>

#include "unit/jwt/test_signer.hpp"

namespace nbhub::jwt {
namespace {

using namespace std::chrono_literals;
using test::Keys;
using test::make_jwks;
using test::make_jwt;

constexpr std::int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z
constexpr char kIssuer[] = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Test";
constexpr char kClient[] = "client-1";

class ValidatorTest : public ::testing::Test {
 protected:
  FakeClock clock{Clock::SysTime{std::chrono::seconds{kNow}}};
  Jwks keys = *Jwks::parse(make_jwks({Keys::get().rsa1.jwk(), Keys::get().rsa2.jwk(),
                                      Keys::get().ec256.jwk(), Keys::get().ec384.jwk()}),
                           "https://idp.test/jwks");

  static boost::json::object id_claims() {
    return {{"iss", kIssuer},       {"sub", "0b1c-uuid"},     {"aud", kClient},
            {"exp", kNow + 3600},   {"iat", kNow},            {"nonce", "n-123"},
            {"token_use", "id"},    {"cognito:username", "alice"}};
  }
  static Expectations id_expect() {
    Expectations x;
    x.issuer = kIssuer;
    x.audiences = {kClient};
    x.nonce = "n-123";
    x.allowed_algs = {"RS256"};
    x.token_use = "id";
    x.azp_client_id = kClient;
    x.token_name = "ID token";
    x.require_sub = true;
    return x;
  }

  JwtResult<Claims> check(std::string const& jwt, Expectations const& x = id_expect()) {
    return validate_with_keys(jwt, x, keys, clock);
  }
  JwtResult<Claims> check_claims_of(boost::json::object payload,
                                    Expectations const& x = id_expect()) {
    return check(make_jwt(Keys::get().rsa1, "RS256", std::move(payload)), x);
  }
  static JwtCode code(JwtResult<Claims> const& r) {
    EXPECT_FALSE(r) << "unexpectedly valid";
    return r ? JwtCode::malformed : r.error().code;
  }
  static std::string message(JwtResult<Claims> const& r) { return r ? "" : r.error().message; }
};

TEST_F(ValidatorTest, AcceptsAValidIdToken) {
  auto r = check_claims_of(id_claims());
  ASSERT_TRUE(r) << message(r);
  EXPECT_EQ(r->sub(), "0b1c-uuid");
  EXPECT_EQ(r->exp(), kNow + 3600);
  EXPECT_EQ(r->string("cognito:username"), "alice");
}

TEST_F(ValidatorTest, AcceptsEs256AndPs256) {
  auto x = id_expect();
  x.allowed_algs = {"ES256", "PS256", "ES384"};
  for (auto [alg, key] : {std::pair{"ES256", &Keys::get().ec256}, {"PS256", &Keys::get().rsa2},
                          {"ES384", &Keys::get().ec384}}) {
    auto r = check(make_jwt(*key, alg, id_claims()), x);
    EXPECT_TRUE(r) << alg << ": " << message(r);
  }
}

TEST_F(ValidatorTest, AlgConfusionHs256WithRsaPublicKeyFails) {
  auto const forged =
      test::make_hs256_jwt(Keys::get().rsa1.public_pem(), id_claims(), "rsa-1");
  EXPECT_EQ(code(check(forged)), JwtCode::unsupported_alg);
  auto x = id_expect();
  x.allowed_algs = {"RS256", "HS256"};  // even a misconfigured allow-list cannot enable HMAC
  EXPECT_EQ(code(check(forged, x)), JwtCode::unsupported_alg);
}

TEST_F(ValidatorTest, RejectsAlgNone) {
  auto const none = test::b64json({{"alg", "none"}, {"typ", "JWT"}}) + "." +
                    test::b64json(id_claims()) + ".";
  auto r = check(none);
  EXPECT_EQ(code(r), JwtCode::unsupported_alg);
  EXPECT_EQ(message(r).rfind("ID token uses alg 'none'", 0), 0u) << message(r);
}

TEST_F(ValidatorTest, RejectsAlgOutsideTheProvidersAllowList) {
  auto r = check(make_jwt(Keys::get().rsa1, "RS384", id_claims()));
  EXPECT_EQ(code(r), JwtCode::unsupported_alg);
  auto x = id_expect();
  x.allowed_algs.clear();
  EXPECT_EQ(code(check(make_jwt(Keys::get().rsa1, "RS256", id_claims()), x)),
            JwtCode::unsupported_alg);
}

TEST_F(ValidatorTest, KidMismatchIsUnknownKid) {
  auto r = check(make_jwt(Keys::get().rsa1, "RS256", id_claims(), {{"kid", "abc"}}));
  EXPECT_EQ(code(r), JwtCode::unknown_kid);
  EXPECT_EQ(message(r).rfind("ID token signed with kid 'abc', which is not in the provider's "
                             "JWKS (https://idp.test/jwks",
                             0),
            0u)
      << message(r);
}

TEST_F(ValidatorTest, TokenWithoutKidUsesTheSingleKey) {
  auto const& k = Keys::get().rsa1;
  auto token = make_jwt(k, "RS256", id_claims(), {{"kid", nullptr}});
  Jwks one = *Jwks::parse(make_jwks({k.jwk()}), "https://idp.test/jwks");
  EXPECT_TRUE(validate_with_keys(token, id_expect(), one, clock));
  EXPECT_EQ(code(check(token)), JwtCode::unknown_kid);  // two RSA keys: ambiguous
}

TEST_F(ValidatorTest, JwksEntryAlgDifferentFromTokenAlgFails) {
  auto const& k = Keys::get().rsa1;
  Jwks ps_only = *Jwks::parse(make_jwks({k.jwk("PS256")}), "https://idp.test/jwks");
  auto r = validate_with_keys(make_jwt(k, "RS256", id_claims()), id_expect(), ps_only, clock);
  EXPECT_EQ(code(r), JwtCode::unsupported_alg);
}

TEST_F(ValidatorTest, SignatureFromAnotherKeyFails) {
  auto forged = make_jwt(Keys::get().rsa2, "RS256", id_claims(), {{"kid", "rsa-1"}});
  auto r = check(forged);
  EXPECT_EQ(code(r), JwtCode::bad_signature);
  EXPECT_EQ(message(r).rfind("ID token signature does not verify", 0), 0u) << message(r);
}

TEST_F(ValidatorTest, PayloadMustBeAJsonObject) {
  auto const& k = Keys::get().rsa1;
  auto input = test::b64json({{"alg", "RS256"}, {"kid", "rsa-1"}}) + "." +
               crypto::base64url_encode("[1,2]");
  auto token = input + "." + crypto::base64url_encode(k.sign("RS256", input));
  EXPECT_EQ(code(check(token)), JwtCode::malformed);
}

TEST_F(ValidatorTest, ExpiryHonoursLeewayOnBothSides) {
  auto p = id_claims();
  p["exp"] = kNow;  // expires now
  EXPECT_TRUE(check_claims_of(p)) << "within 60 s leeway";
  clock.advance(59s);
  EXPECT_TRUE(check_claims_of(p));
  clock.advance(1s);  // exp == now - leeway
  auto r = check_claims_of(p);
  EXPECT_EQ(code(r), JwtCode::expired);
  EXPECT_EQ(message(r), "ID token expired at 2026-01-01T00:00:00Z (60 s ago; leeway 60 s)");

  auto strict = id_expect();
  strict.leeway = 0s;
  p["iat"] = kNow - 100;
  clock.set(Clock::SysTime{std::chrono::seconds{kNow - 1}});
  EXPECT_TRUE(check_claims_of(p, strict));
  clock.advance(1s);
  EXPECT_EQ(code(check_claims_of(p, strict)), JwtCode::expired);
}

TEST_F(ValidatorTest, NotBeforeHonoursLeeway) {
  auto p = id_claims();
  p["nbf"] = kNow + 60;
  EXPECT_TRUE(check_claims_of(p));
  p["nbf"] = kNow + 61;
  EXPECT_EQ(code(check_claims_of(p)), JwtCode::not_yet_valid);
  clock.advance(1s);
  EXPECT_TRUE(check_claims_of(p));
}

TEST_F(ValidatorTest, IssuedInTheFutureBeyondLeeway) {
  auto p = id_claims();
  p["iat"] = kNow + 60;
  EXPECT_TRUE(check_claims_of(p));
  p["iat"] = kNow + 61;
  auto r = check_claims_of(p);
  EXPECT_EQ(code(r), JwtCode::issued_in_future);
  EXPECT_NE(message(r).find("check the clocks"), std::string::npos);
}

TEST_F(ValidatorTest, MaxAgeSinceIat) {
  auto x = id_expect();
  x.max_age_since_iat = 300s;
  auto p = id_claims();
  p["iat"] = kNow - 360;  // 300 + 60 leeway
  EXPECT_TRUE(check_claims_of(p, x));
  p["iat"] = kNow - 361;
  EXPECT_EQ(code(check_claims_of(p, x)), JwtCode::expired);
  p.erase("iat");
  EXPECT_EQ(code(check_claims_of(p, x)), JwtCode::missing_claim);
}

TEST_F(ValidatorTest, MissingAndMistypedClaims) {
  auto p = id_claims();
  p.erase("exp");
  EXPECT_EQ(code(check_claims_of(p)), JwtCode::missing_claim);
  auto lax = id_expect();
  lax.require_exp = false;
  EXPECT_TRUE(check_claims_of(p, lax));

  p = id_claims();
  p["exp"] = "tomorrow";
  EXPECT_EQ(code(check_claims_of(p)), JwtCode::malformed);
  p = id_claims();
  p.erase("iss");
  EXPECT_EQ(code(check_claims_of(p)), JwtCode::missing_claim);
  p = id_claims();
  p["iss"] = 7;
  EXPECT_EQ(code(check_claims_of(p)), JwtCode::malformed);
  p = id_claims();
  p["aud"] = boost::json::array{kClient, 3};
  EXPECT_EQ(code(check_claims_of(p)), JwtCode::malformed);
}

TEST_F(ValidatorTest, IssuerMustMatchExactly) {
  auto p = id_claims();
  p["iss"] = std::string(kIssuer) + "/";
  auto r = check_claims_of(p);
  EXPECT_EQ(code(r), JwtCode::wrong_issuer);
  EXPECT_NE(message(r).find("trailing slash"), std::string::npos);
  auto x = id_expect();
  x.issuer.clear();  // fail closed
  EXPECT_EQ(code(check_claims_of(id_claims(), x)), JwtCode::wrong_issuer);
}

TEST_F(ValidatorTest, AudienceMustContainOneOfTheExpected) {
  auto p = id_claims();
  p["aud"] = "someone-else";
  auto r = check_claims_of(p);
  EXPECT_EQ(code(r), JwtCode::wrong_audience);
  EXPECT_EQ(message(r),
            "ID token audience ['someone-else'] does not include any of ['client-1']; check the "
            "client id");
  auto x = id_expect();
  x.audiences = {"other", kClient};
  p["aud"] = boost::json::array{"x", kClient};
  EXPECT_TRUE(check_claims_of(p, x));
  x.audiences.clear();  // not checked
  p["aud"] = "anything";
  EXPECT_TRUE(check_claims_of(p, x));
}

TEST_F(ValidatorTest, MultipleAudiencesWithAndWithoutAzp) {
  auto p = id_claims();
  p["aud"] = boost::json::array{kClient, "api://backend"};
  EXPECT_TRUE(check_claims_of(p)) << "no azp: accepted (OIDC Core says SHOULD)";
  p["azp"] = kClient;
  EXPECT_TRUE(check_claims_of(p));
  p["azp"] = "api://backend";
  auto r = check_claims_of(p);
  EXPECT_EQ(code(r), JwtCode::wrong_azp);
  EXPECT_NE(message(r).find("'api://backend'"), std::string::npos);
  auto x = id_expect();
  x.azp_client_id.clear();
  EXPECT_EQ(code(check_claims_of(p, x)), JwtCode::wrong_azp);  // fail closed
  p["aud"] = kClient;  // single audience: azp not consulted
  EXPECT_TRUE(check_claims_of(p));
}

TEST_F(ValidatorTest, NonceMustMatch) {
  auto p = id_claims();
  p["nonce"] = "n-124";
  EXPECT_EQ(code(check_claims_of(p)), JwtCode::wrong_nonce);
  p["nonce"] = "n-12";
  EXPECT_EQ(code(check_claims_of(p)), JwtCode::wrong_nonce);
  p.erase("nonce");
  EXPECT_EQ(code(check_claims_of(p)), JwtCode::missing_claim);
  auto x = id_expect();
  x.nonce.reset();
  EXPECT_TRUE(check_claims_of(p, x));
}

TEST_F(ValidatorTest, TokenUseMustMatch) {
  auto p = id_claims();
  p["token_use"] = "access";
  auto r = check_claims_of(p);
  EXPECT_EQ(code(r), JwtCode::wrong_token_use);
  p.erase("token_use");
  EXPECT_EQ(code(check_claims_of(p)), JwtCode::missing_claim);
}

// Issue 18, point 7: OIDC Core §2 makes `sub` required in an ID token.
TEST_F(ValidatorTest, IdTokenWithoutSubIsRefused) {
  auto p = id_claims();
  p.erase("sub");
  auto r = check_claims_of(p);
  EXPECT_EQ(code(r), JwtCode::missing_claim);
  EXPECT_EQ(message(r), "ID token has no 'sub' claim; OpenID Connect requires one naming the user "
                        "(OIDC Core §2)");
  p["sub"] = "";
  r = check_claims_of(p);
  EXPECT_EQ(code(r), JwtCode::missing_claim);
  EXPECT_NE(message(r).find("has an empty 'sub' claim"), std::string::npos) << message(r);
  p["sub"] = 42;
  EXPECT_EQ(code(check_claims_of(p)), JwtCode::malformed);
  auto x = id_expect();
  x.require_sub = false;  // access tokens: not every provider puts a sub into them
  p.erase("sub");
  EXPECT_TRUE(check_claims_of(p, x));
}

class CognitoAccessToken : public ValidatorTest {
 protected:
  static boost::json::object access_claims(std::string client_id) {
    return {{"iss", kIssuer},         {"sub", client_id},
            {"client_id", client_id}, {"token_use", "access"},
            {"scope", "hub/read"},    {"exp", kNow + 3600},
            {"iat", kNow},            {"jti", "j-1"}};
  }
  static Expectations access_expect() {
    Expectations x;
    x.issuer = kIssuer;
    x.allowed_algs = {"RS256"};
    x.token_use = "access";
    x.allowed_client_ids = {"m2m-1", kClient};
    x.token_name = "access token";
    return x;
  }
};

TEST_F(CognitoAccessToken, PassesWithoutAudViaClientIdAllowList) {
  auto r = check_claims_of(access_claims("m2m-1"), access_expect());
  ASSERT_TRUE(r) << message(r);
  EXPECT_EQ(r->string("scope"), "hub/read");
}

TEST_F(CognitoAccessToken, WrongClientIdIsNotAllowed) {
  auto r = check_claims_of(access_claims("evil"), access_expect());
  EXPECT_EQ(code(r), JwtCode::client_not_allowed);
  EXPECT_EQ(message(r),
            "access token was issued to client_id 'evil', which is not in allowed_client_ids "
            "['m2m-1', 'client-1']");
  auto p = access_claims("m2m-1");
  p.erase("client_id");
  EXPECT_EQ(code(check_claims_of(p, access_expect())), JwtCode::missing_claim);
}

TEST_F(CognitoAccessToken, IdTokenIsNotAnAccessToken) {
  EXPECT_EQ(code(check_claims_of(id_claims(), access_expect())), JwtCode::wrong_token_use);
}

TEST_F(CognitoAccessToken, ExpectingAnAudienceExplainsTheMissingAud) {
  auto x = access_expect();
  x.audiences = {kClient};
  auto r = check_claims_of(access_claims("m2m-1"), x);
  EXPECT_EQ(code(r), JwtCode::missing_claim);
  EXPECT_NE(message(r).find("allowed_client_ids"), std::string::npos) << message(r);
}

TEST_F(ValidatorTest, ErrorConvertsToUnauthorizedWithTheMessage) {
  auto r = check_claims_of([] {
    auto p = id_claims();
    p["iss"] = "https://evil.test";
    return p;
  }());
  ASSERT_FALSE(r);
  Error e = r.error();
  EXPECT_EQ(e.code, Errc::unauthorized);
  EXPECT_EQ(e.message.rfind("ID token has issuer 'https://evil.test'", 0), 0u) << e.message;
}

}  // namespace
}  // namespace nbhub::jwt
