#include "jwt/claims.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace nbhub::jwt {
namespace {

Claims claims(std::string_view json) { return Claims(boost::json::parse(json).as_object()); }

TEST(Claims, TypedAccessors) {
  auto c = claims(R"({"sub": "u1", "iss": "https://i", "exp": 1700000000, "iat": 1.7e9,
                      "nbf": 1699999999.9, "aud": ["a", "b"]})");
  EXPECT_EQ(c.sub(), "u1");
  EXPECT_EQ(c.iss(), "https://i");
  EXPECT_EQ(c.exp(), 1700000000);
  EXPECT_EQ(c.iat(), 1700000000);
  EXPECT_EQ(c.nbf(), 1699999999);  // fraction dropped
  EXPECT_EQ(c.audiences(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(claims(R"({"aud": "a"})").audiences(), std::vector<std::string>{"a"});
  auto odd = claims(R"({"sub": 5, "exp": "soon", "iat": 1e300})");
  EXPECT_EQ(odd.sub(), "");
  EXPECT_FALSE(odd.exp());
  EXPECT_FALSE(odd.iat());
}

TEST(Claims, ColonKeyIsOneSegment) {
  auto c = claims(R"({"cognito:groups": ["admins", "users"], "cognito:username": "alice"})");
  EXPECT_EQ(c.strings("cognito:groups"), (std::vector<std::string>{"admins", "users"}));
  EXPECT_EQ(c.string("cognito:username"), "alice");
}

TEST(Claims, DottedPathWalksObjects) {
  auto c = claims(R"({"oauth_user": {"cognito:groups": ["g1"], "profile": {"name": "A"}}})");
  EXPECT_EQ(c.strings("oauth_user.cognito:groups"), std::vector<std::string>{"g1"});
  EXPECT_EQ(c.string("oauth_user.profile.name"), "A");
  EXPECT_FALSE(c.string("oauth_user.profile.missing"));
  EXPECT_FALSE(c.string("oauth_user.profile"));  // an object, not a string
}

TEST(Claims, FullKeyWithDotsIsTriedFirst) {
  auto c = claims(R"({"https://example.org/claims.groups": ["x"],
                      "https://example.org/claims": {"groups": ["shadowed"]}})");
  EXPECT_EQ(c.strings("https://example.org/claims.groups"), std::vector<std::string>{"x"});
  auto nested = claims(R"({"ext": {"https://example.org/claims.groups": ["y"]}})");
  EXPECT_EQ(nested.strings("ext.https://example.org/claims.groups"),
            std::vector<std::string>{"y"});
}

TEST(Claims, LongestPrefixFirstThenBacktracks) {
  auto c = claims(R"({"a.b": {"c": "long"}, "a": {"b.c": "short", "b": {"d": "deep"}}})");
  EXPECT_EQ(c.string("a.b.c"), "long");
  EXPECT_EQ(c.string("a.b.d"), "deep");  // "a.b" has no d: back off to "a" then "b.d"
}

TEST(Claims, StringsAcceptsSingleStringAndSkipsNonStrings) {
  auto c = claims(R"({"groups": "one", "mixed": ["a", 1, "b"], "n": 3})");
  EXPECT_EQ(c.strings("groups"), std::vector<std::string>{"one"});
  EXPECT_EQ(c.strings("mixed"), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(c.strings("n"));
  EXPECT_FALSE(c.strings(std::string(kMaxClaimPathBytes + 1, 'g')));
}

}  // namespace
}  // namespace nbhub::jwt
