// The refresh grant and the auth_state bookkeeping around it (auth/refresh.hpp). The IdP is a
// scripted stand-in at the HttpClient seam; its protocol is exercised for real by
// tests/integration/test_notebook_tokens.py against the test IdP.
#include "auth/refresh.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
#include "unit/jwt/fake_http_client.hpp"

namespace nbhub::auth {
namespace {

namespace json = boost::json;
using jwt::test::FakeHttpClient;
using jwt::test::run_sync;

spdlog::logger& quiet() {
  static auto l = std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>());
  return *l;
}

std::string fake_jwt(json::object payload) {
  return crypto::base64url_encode(R"({"alg":"RS256"})") + "." +
         crypto::base64url_encode(json::serialize(payload)) + ".c2ln";
}

config::ProviderConfig provider(config::TokenAuth how = config::TokenAuth::client_secret_post) {
  config::ProviderConfig p;
  p.name = "idp";
  p.client_id = "hub";
  p.client_secret = Secret("s3cret");
  p.token_url = "https://idp.test/token";
  p.token_auth = how;
  return p;
}

TEST(RefreshGrant, PostsTheRefreshTokenWithClientCredentials) {
  FakeHttpClient http;
  http.serve(R"({"access_token":"new-at","token_type":"Bearer","expires_in":60})");
  auto r = run_sync(refresh_grant(provider(), http, "rt-1", quiet()));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(json_string(*r, "access_token"), "new-at");
  ASSERT_EQ(http.requests.size(), 1u);
  auto const& req = http.requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://idp.test/token");
  EXPECT_NE(req.body.find("grant_type=refresh_token"), std::string::npos);
  EXPECT_NE(req.body.find("refresh_token=rt-1"), std::string::npos);
  EXPECT_NE(req.body.find("client_id=hub"), std::string::npos);
}

TEST(RefreshGrant, BasicAuthKeepsTheSecretOutOfTheBody) {
  FakeHttpClient http;
  http.serve(R"({"access_token":"a"})");
  ASSERT_TRUE(run_sync(refresh_grant(provider(config::TokenAuth::client_secret_basic), http, "rt", quiet())));
  auto const& req = http.requests[0];
  EXPECT_EQ(req.body.find("s3cret"), std::string::npos);
  bool basic = false;
  for (auto const& [k, v] : req.headers) basic |= k == "Authorization" && v.starts_with("Basic ");
  EXPECT_TRUE(basic);
}

TEST(RefreshGrant, RefusedRefreshTokenMeansSignInAgain) {
  FakeHttpClient http;
  http.serve(R"({"error":"invalid_grant","error_description":"grant request is invalid"})", 400);
  auto r = run_sync(refresh_grant(provider(), http, "dead", quiet()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unauthorized);
  EXPECT_NE(r.error().message.find("invalid_grant"), std::string::npos);
  EXPECT_EQ(r.error().message.find("dead"), std::string::npos);  // never the token
}

TEST(RefreshGrant, ProviderDownIsUnavailableNotSignInAgain) {
  FakeHttpClient http;
  http.fail_transport();
  auto r = run_sync(refresh_grant(provider(), http, "rt", quiet()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  http.serve("oops", 502);
  r = run_sync(refresh_grant(provider(), http, "rt", quiet()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  http.serve("<html>", 200);
  r = run_sync(refresh_grant(provider(), http, "rt", quiet()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_gateway);
}

TEST(RefreshGrant, ClientCredentialsSendsTheScope) {
  FakeHttpClient http;
  http.serve(R"({"access_token":"svc"})");
  ASSERT_TRUE(run_sync(client_credentials_grant(provider(), http, "nbhub/api", quiet())));
  EXPECT_NE(http.requests[0].body.find("grant_type=client_credentials"), std::string::npos);
  EXPECT_NE(http.requests[0].body.find("scope=nbhub%2Fapi"), std::string::npos);
}

TEST(AccessTokenExpiry, PrefersExpiresAtThenJwtExpThenExpiresIn) {
  json::object st{{"access_token", fake_jwt({{"exp", 2000}})}, {"expires_at", 1500}};
  EXPECT_EQ(access_token_expiry(st, std::nullopt), 1500);
  st.erase("expires_at");
  EXPECT_EQ(access_token_expiry(st, std::nullopt), 2000);
  json::object opaque{{"access_token", "opaque"}, {"token_response", json::object{{"expires_in", 3600}}}};
  EXPECT_EQ(access_token_expiry(opaque, 100), 3700);
  EXPECT_EQ(access_token_expiry(opaque, std::nullopt), std::nullopt);
}

TEST(MergeRefreshed, RotationReplacesTheRefreshToken) {
  json::object st{{"access_token", "old"}, {"refresh_token", "rt-1"}, {"id_token", "id-1"},
                  {"oauth_user", json::object{{"sub", "x"}}}};
  auto m = merge_refreshed(st, json::object{{"access_token", "new"}, {"refresh_token", "rt-2"}, {"expires_in", 60}}, 1000);
  EXPECT_EQ(json_string(m, "access_token"), "new");
  EXPECT_EQ(json_string(m, "refresh_token"), "rt-2");
  EXPECT_EQ(json_string(m, "id_token"), "id-1");  // kept: the answer had none
  EXPECT_EQ(m.at("expires_at").as_int64(), 1060);
  EXPECT_TRUE(m.contains("oauth_user"));
}

TEST(MergeRefreshed, NoNewRefreshTokenKeepsTheOldOneAsCognitoNeedsIt) {
  json::object st{{"access_token", "old"}, {"refresh_token", "rt-1"}};
  auto m = merge_refreshed(st, json::object{{"access_token", fake_jwt({{"exp", 5000}})}, {"id_token", "id-2"}, {"scope", "openid email"}}, 1000);
  EXPECT_EQ(json_string(m, "refresh_token"), "rt-1");
  EXPECT_EQ(json_string(m.at("token_response").as_object(), "refresh_token"), "rt-1");
  EXPECT_EQ(json_string(m, "id_token"), "id-2");
  EXPECT_EQ(m.at("expires_at").as_int64(), 5000);
  EXPECT_EQ(m.at("scope").as_array().size(), 2u);
}

}  // namespace
}  // namespace nbhub::auth
