// BearerAuth (hub/bearer_auth.hpp): bearer JWTs validated with the real jwt::Validator and
// JwksCache; the provider's JWKS endpoint is a stand-in at the HttpClient seam. Each refusal of
// issue 6 §6 has a case here; the end-to-end refusals against the test IdP are in
// tests/integration/test_api_bearer.py.
#include "hub/bearer_auth.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "jwt/jwks_cache.hpp"
#include "unit/jwt/fake_http_client.hpp"
#include "unit/jwt/test_signer.hpp"

namespace nbhub::hub {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using jwt::test::FakeHttpClient;
using jwt::test::Keys;
using jwt::test::make_jwt;
using jwt::test::run_sync;

spdlog::logger& quiet() {
  static auto l = std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>());
  return *l;
}

constexpr char kIss[] = "https://idp.test";

struct Rig {
  FakeClock clock{Clock::SysTime{} + std::chrono::seconds{1767225600}};
  FakeHttpClient http;
  jwt::JwksCache jwks{http, clock};
  std::vector<config::ProviderConfig> providers;
  std::map<std::string, std::string> username_map;
  std::unique_ptr<BearerAuth> bearer;

  explicit Rig(bool cognito = false) {
    config::ProviderConfig p;
    p.name = "idp";
    p.kind = cognito ? "cognito" : "oidc";
    p.client_id = "nbhub-test";
    p.issuer = kIss;
    p.jwks_url = "https://idp.test/jwks";
    p.bearer_tokens = true;
    if (cognito) p.bearer_client_ids = {"svc-client", "nbhub-test"};
    else p.bearer_audiences = {"svc-client", "nbhub-test"};
    p.bearer_services = {{"svc-client", "reporting"}};
    p.bearer_scopes = {{"nbhub/api", "users:activity read:users"}};
    providers.push_back(p);
    http.serve(jwt::test::make_jwks({Keys::get().rsa1.jwk("RS256")}));
    bearer = std::make_unique<BearerAuth>(providers, username_map, jwks, clock, quiet());
  }
  std::int64_t now() const { return clock.unix_seconds(); }
  json::object svc_claims() const {
    return {{"iss", kIss}, {"sub", "svc-client"}, {"client_id", "svc-client"}, {"aud", "svc-client"},
            {"scope", "nbhub/api"}, {"token_use", "access"}, {"iat", now()}, {"exp", now() + 600}};
  }
  json::object user_claims() const {
    return {{"iss", kIss}, {"sub", "u-1"}, {"client_id", "nbhub-test"}, {"aud", "nbhub-test"},
            {"username", "Alice"}, {"token_use", "access"}, {"iat", now()}, {"exp", now() + 600}};
  }
  Result<BearerPrincipal> auth(std::string t) { return run_sync(bearer->authenticate(std::move(t))); }
};

std::string sign(json::object claims) { return make_jwt(Keys::get().rsa1, "RS256", std::move(claims)); }

void expect_refused(Result<BearerPrincipal> const& r, std::string_view words) {
  ASSERT_FALSE(r) << "accepted";
  EXPECT_EQ(r.error().code, Errc::unauthorized) << r.error().message;
  EXPECT_NE(r.error().message.find(words), std::string::npos) << r.error().message;
}

TEST(BearerAuth, ClientCredentialsTokenIsTheConfiguredServiceWithMappedScopes) {
  Rig r;
  auto p = r.auth(sign(r.svc_claims()));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->service, "reporting");
  EXPECT_FALSE(p->user);
  EXPECT_EQ(p->scopes, (std::vector<std::string>{"users:activity", "read:users"}));
  EXPECT_EQ(p->expires_at, r.now() + 600);
}

TEST(BearerAuth, UsersAccessTokenIsThatUserNormalized) {
  Rig r;
  auto p = r.auth(sign(r.user_claims()));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->user, "alice");
  EXPECT_FALSE(p->service);
}

TEST(BearerAuth, ValidatedTokensAreCachedUntilExpiry) {
  Rig r;
  auto t = sign(r.svc_claims());
  ASSERT_TRUE(r.auth(t));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(r.auth(t));
  EXPECT_EQ(r.bearer->stats().validated, 1u);
  EXPECT_EQ(r.bearer->stats().cache_hits, 5u);
  EXPECT_EQ(r.http.calls, 1);  // one JWKS fetch, no IdP call per request
  r.clock.advance(660s);       // past exp + leeway
  expect_refused(r.auth(t), "expired");
}

TEST(BearerAuth, Refusals) {
  Rig r;
  auto c = r.svc_claims();
  auto with = [&](std::string_view k, json::value v) { auto o = c; o[k] = v; return o; };
  expect_refused(r.auth(sign(with("exp", r.now() - 3600))), "expired");
  expect_refused(r.auth(sign(with("nbf", r.now() + 3600))), "not valid");
  expect_refused(r.auth(sign(with("iss", "https://evil.test"))), "issuer 'https://evil.test' is not accepted");
  expect_refused(r.auth(sign(with("aud", "other-api"))), "audience");
  expect_refused(r.auth(sign(with("token_use", "id"))), "ID token");
  // A client that is neither a configured service nor names a user.
  expect_refused(r.auth(sign(with("client_id", "stranger"))), "names no hub user");
  // alg none.
  auto none = jwt::test::b64json({{"alg", "none"}, {"typ", "JWT"}}) + "." + jwt::test::b64json(c) + ".";
  expect_refused(r.auth(none), "");
  // HS256 signed with the provider's public key (algorithm confusion).
  expect_refused(r.auth(jwt::test::make_hs256_jwt(Keys::get().rsa1.public_pem(), c, "rsa-1")), "");
  // Altered payload: the signature no longer matches.
  auto good = sign(c);
  auto dot1 = good.find('.'), dot2 = good.rfind('.');
  auto altered = good.substr(0, dot1 + 1) + jwt::test::b64json(with("sub", "admin")) + good.substr(dot2);
  expect_refused(r.auth(altered), "signature");
  // Signed by a key the provider does not publish.
  expect_refused(r.auth(make_jwt(Keys::get().rsa2, "RS256", c)), "");
  EXPECT_EQ(r.bearer->stats().validated, 0u);
}

TEST(BearerAuth, UnknownKidsDoNotHammerTheJwksEndpoint) {
  Rig r;
  ASSERT_TRUE(r.auth(sign(r.svc_claims())));
  int before = r.http.calls;
  for (int i = 0; i < 20; ++i) {
    auto t = make_jwt(Keys::get().rsa2, "RS256", r.svc_claims(), json::object{{"kid", "random-" + std::to_string(i)}});
    ASSERT_FALSE(r.auth(t));
  }
  EXPECT_LE(r.http.calls - before, 1);  // at most one refetch per unknown_kid_refetch_interval
}

TEST(BearerAuth, CognitoAccessTokensNeedAnAllowedClientIdAndTokenUseAccess) {
  Rig r(true);
  auto c = r.svc_claims();
  c.erase("aud");  // Cognito access tokens carry none
  ASSERT_TRUE(r.auth(sign(c)));
  auto other = c;
  other["client_id"] = "someone-else";
  expect_refused(r.auth(sign(other)), "client_id 'someone-else'");
  auto no_use = c;
  no_use.erase("token_use");
  no_use["jti"] = "x";  // a different token, not the cached one
  expect_refused(r.auth(sign(no_use)), "token_use");
}

TEST(BearerAuth, HubTokensAreNotMistakenForJwts) {
  EXPECT_FALSE(BearerAuth::looks_like_jwt("aBcD_efgh-1234567890aBcD_efgh-1234567890abc"));
  EXPECT_TRUE(BearerAuth::looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
}

}  // namespace
}  // namespace nbhub::hub
