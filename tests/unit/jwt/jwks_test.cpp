#include "jwt/jwks.hpp"

#include <gtest/gtest.h>

#include "unit/jwt/test_signer.hpp"

namespace nbhub::jwt {
namespace {

using test::Keys;
using test::make_jwks;

constexpr char kUrl[] = "https://idp.test/.well-known/jwks.json";

Jwks parse_ok(std::string const& doc) {
  auto r = Jwks::parse(doc, kUrl);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? std::move(*r) : Jwks{};
}

bool has_note(Jwks const& set, std::string_view needle) {
  for (auto const& n : set.notes())
    if (n.find(needle) != std::string::npos) return true;
  return false;
}

TEST(Jwks, KeepsSigningKeysAndNotesSkippedOnes) {
  auto const& k = Keys::get();
  auto enc = k.rsa2.jwk({}, "enc");
  auto no_verify = k.ec384.jwk();
  no_verify["key_ops"] = boost::json::array{"encrypt"};
  auto set = parse_ok(make_jwks({k.rsa1.jwk("RS256", "sig"), enc, k.ec256.jwk(),
                                 {{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}},
                                 {{"kty", "OKP"}, {"kid", "ed"}, {"crv", "Ed25519"}, {"x", "AA"}},
                                 no_verify, test::TestKey::rsa("tiny", 1024).jwk()}));
  ASSERT_EQ(set.keys().size(), 2u);
  EXPECT_EQ(set.keys()[0]->kid(), "rsa-1");
  EXPECT_EQ(set.keys()[0]->alg().value_or(""), "RS256");
  EXPECT_EQ(set.keys()[1]->kid(), "ec-256");
  EXPECT_EQ(set.notes().size(), 5u);
  EXPECT_TRUE(has_note(set, "key 'rsa-2': its use is 'enc'"));
  EXPECT_TRUE(has_note(set, "kty 'oct'"));
  EXPECT_TRUE(has_note(set, "kty 'OKP'"));
  EXPECT_TRUE(has_note(set, "key_ops lack 'verify'"));
  EXPECT_TRUE(has_note(set, "1024-bit"));
}

// Found by tests/fuzz/fuzz_jwks: cjose aborts the process on base64url of length 4k+1.
TEST(Jwks, MalformedKeyMaterialIsSkippedNotAnAbort) {
  auto const& k = Keys::get();
  auto bad_n = k.rsa1.jwk("RS256", "sig");
  bad_n["kid"] = "bad-n";
  bad_n["n"] = "abcde";  // 5 characters: no base64 text has that length
  auto bad_x = k.ec256.jwk();
  bad_x["kid"] = "bad-x";
  bad_x["x"] = "not base64!";
  auto set = parse_ok(make_jwks({bad_n, bad_x, k.rsa2.jwk("RS256", "sig")}));
  ASSERT_EQ(set.keys().size(), 1u);
  EXPECT_EQ(set.keys()[0]->kid(), "rsa-2");
  EXPECT_TRUE(has_note(set, "key 'bad-n': member 'n' is not base64url"));
  EXPECT_TRUE(has_note(set, "key 'bad-x': member 'x' is not base64url"));
}

TEST(Jwks, RejectsDocumentsThatAreNotAJwks) {
  for (auto doc : {"", "not json", "[]", "{}", R"({"keys": {}})", R"({"keys": "x"})"}) {
    auto r = Jwks::parse(doc, kUrl);
    ASSERT_FALSE(r) << doc;
    EXPECT_EQ(r.error().code, JwtCode::jwks_unavailable);
    EXPECT_NE(r.error().message.find(kUrl), std::string::npos);
  }
  auto big = Jwks::parse(std::string(kMaxJwksBytes + 1, ' '), kUrl);
  EXPECT_FALSE(big);
  EXPECT_TRUE(Jwks::parse(R"({"keys": []})", kUrl));
}

TEST(Jwks, SelectsByKid) {
  auto const& k = Keys::get();
  auto set = parse_ok(make_jwks({k.rsa1.jwk(), k.rsa2.jwk(), k.ec256.jwk()}));
  auto r = set.select("rsa-2", Alg::rs256);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->kid(), "rsa-2");
  r = set.select("ec-256", Alg::es256);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->kid(), "ec-256");
}

TEST(Jwks, UnknownKidNamesTheJwksAndItsKids) {
  auto const& k = Keys::get();
  auto set = parse_ok(make_jwks({k.rsa1.jwk(), k.rsa2.jwk()}));
  auto r = set.select("abc", Alg::rs256);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::unknown_kid);
  EXPECT_EQ(r.error().message,
            "token signed with kid 'abc', which is not in the provider's JWKS "
            "(https://idp.test/.well-known/jwks.json; it has kids ['rsa-1', 'rsa-2'])");
}

TEST(Jwks, TokenWithoutKidUsesTheOnlySuitableKey) {
  auto const& k = Keys::get();
  auto set = parse_ok(make_jwks({k.rsa1.jwk(), k.ec256.jwk()}));
  auto r = set.select("", Alg::rs256);  // the EC key is not suitable for RS256
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->kid(), "rsa-1");
  r = set.select("", Alg::es384);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::unknown_kid);

  auto two = parse_ok(make_jwks({k.rsa1.jwk(), k.rsa2.jwk()}));
  r = two.select("", Alg::rs256);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::unknown_kid);
  EXPECT_NE(r.error().message.find("refusing to guess"), std::string::npos);
}

TEST(Jwks, PublishedAlgMustEqualTheTokensAlg) {
  auto const& k = Keys::get();
  auto set = parse_ok(make_jwks({k.rsa1.jwk("RS256")}));
  EXPECT_TRUE(set.select("rsa-1", Alg::rs256));
  auto r = set.select("rsa-1", Alg::ps256);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::unsupported_alg);
  EXPECT_NE(r.error().message.find("published for alg 'RS256'"), std::string::npos);
  // Without a kid the published alg also filters: no key is suitable for PS256.
  r = set.select("", Alg::ps256);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::unknown_kid);
}

TEST(Jwks, SameKidOnKeysOfDifferentTypesPicksTheOneFittingTheAlg) {
  auto const& k = Keys::get();
  auto rsa = k.rsa1.jwk();
  auto ec = k.ec256.jwk();
  ec["kid"] = "shared";
  rsa["kid"] = "shared";
  auto set = parse_ok(make_jwks({rsa, ec}));
  auto r = set.select("shared", Alg::es256);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->type(), KeyType::ec);
  r = set.select("shared", Alg::rs256);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->type(), KeyType::rsa);
  r = set.select("shared", Alg::es384);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::unsupported_alg);
}

}  // namespace
}  // namespace nbhub::jwt
