// Issue 21: managed services' config and environment (hub/services.hpp, hub/service_env.hpp).
#include <gtest/gtest.h>

#include "core/random.hpp"
#include "hub/service_env.hpp"
#include "hub/services.hpp"

namespace nbhub::hub {
namespace {

spawn::EnvLookup env_of(std::map<std::string, std::string> m) {
  return [m](std::string const& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ManagedServices, CommandEnvironmentCwdAndUserAreRead) {
  auto r = ServiceRegistry::load(
      R"([{"name": "cull", "command": ["python3", "-m", "culler"], "environment": {"A": "1", "N": 5},
           "cwd": "/srv", "user": "svc", "url": "http://127.0.0.1:9000/"},
          {"name": "one", "command": "run-me"}, {"name": "ext", "url": "http://x:1"}])",
      "/jh/");
  ASSERT_TRUE(r) << r.error().message;
  auto const* cull = r->find("cull");
  ASSERT_TRUE(cull);
  EXPECT_TRUE(cull->managed());
  EXPECT_EQ(cull->command, (std::vector<std::string>{"python3", "-m", "culler"}));
  EXPECT_EQ(cull->environment.at("A"), "1");
  EXPECT_EQ(cull->environment.at("N"), "5");
  EXPECT_EQ(cull->cwd, "/srv");
  EXPECT_EQ(cull->user, "svc");
  EXPECT_EQ(r->find("one")->command, std::vector<std::string>{"run-me"});  // JupyterHub's Command trait
  EXPECT_FALSE(r->find("ext")->managed());
}

TEST(ManagedServices, BadFieldsNameTheServiceAndField) {
  auto r = ServiceRegistry::load(R"([{"name": "s", "command": [1]}])", "/");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("service \"s\": command must be a list of strings"), std::string::npos);
  r = ServiceRegistry::load(R"([{"name": "s", "command": ["x"], "environment": {"A": [1]}}])", "/");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("environment.A must be a string"), std::string::npos);
  r = ServiceRegistry::load(R"([{"name": "s", "url": "http://x:1", "cwd": "/tmp"}])", "/");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("apply only to a service with a command"), std::string::npos);
}

TEST(ManagedServices, GeneratedTokenAuthenticatesAndSurvivesAReload) {
  auto text = R"([{"name": "m", "command": ["x"]}, {"name": "e", "api_token": "external-token-1"}])";
  auto r = ServiceRegistry::load(text, "/");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->find("m")->api_token.empty());
  FakeRandom random;
  random.next = 0xab;
  ASSERT_TRUE(r->generate_missing_tokens(random));
  auto const& token = r->find("m")->api_token;
  EXPECT_EQ(token.reveal().size(), 32u);
  EXPECT_EQ(r->by_token(token.reveal()), r->find("m"));
  EXPECT_TRUE(r->find("e")->api_token.empty());  // external services' tokens are not kept

  auto again = ServiceRegistry::load(text, "/");
  ASSERT_TRUE(again);
  FakeRandom other;
  other.next = 0xcd;
  ASSERT_TRUE(again->generate_missing_tokens(other, &*r));
  EXPECT_EQ(again->find("m")->api_token, token);
}

TEST(ManagedServices, ConfiguredTokenIsKeptForAManagedService) {
  auto r = ServiceRegistry::load(R"([{"name": "m", "command": ["x"], "api_token": "configured-token"}])", "/");
  ASSERT_TRUE(r);
  FakeRandom random;
  ASSERT_TRUE(r->generate_missing_tokens(random));
  EXPECT_EQ(r->find("m")->api_token.reveal(), "configured-token");
  EXPECT_FALSE(r->find("m")->token_generated);
}

TEST(ServiceEnvironment, MatchesJupyterHubs) {
  auto r = ServiceRegistry::load(
      R"([{"name": "dash", "command": ["x"], "url": "http://127.0.0.1:9000", "api_token": "tok-0123456789",
           "oauth_client_allowed_scopes": ["read:users"],
           "environment": {"JUPYTERHUB_API_URL": "http://override/hub/api", "JUPYTERHUB_SERVICE_NAME": "no", "X": "y"}}])",
      "/jh/");
  ASSERT_TRUE(r) << r.error().message;
  auto env = service_environment(*r->find("dash"), {.api_url = "http://127.0.0.1:8081/jh/hub/api", .base_url = "/jh/"},
                                 nullptr, env_of({{"PATH", "/bin"}, {"NBHUB_CRYPT_KEY", "secret"}, {"HOME", "/root"}}));
  ASSERT_TRUE(env);
  auto const& e = *env;
  EXPECT_EQ(e.at("PATH"), "/bin");
  EXPECT_FALSE(e.contains("NBHUB_CRYPT_KEY"));  // only env_keep is copied
  EXPECT_FALSE(e.contains("HOME"));
  EXPECT_EQ(e.at("JUPYTERHUB_API_TOKEN"), "tok-0123456789");
  EXPECT_EQ(e.at("JPY_API_TOKEN"), "tok-0123456789");
  EXPECT_EQ(e.at("JUPYTERHUB_CLIENT_ID"), "service-dash");
  EXPECT_EQ(e.at("JUPYTERHUB_OAUTH_CALLBACK_URL"), "/jh/services/dash/oauth_callback");
  EXPECT_EQ(e.at("JUPYTERHUB_OAUTH_ACCESS_SCOPES"), R"(["access:services","access:services!service=dash"])");
  EXPECT_EQ(e.at("JUPYTERHUB_OAUTH_SCOPES"), e.at("JUPYTERHUB_OAUTH_ACCESS_SCOPES"));
  EXPECT_EQ(e.at("JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES"), R"(["read:users"])");
  EXPECT_EQ(e.at("JUPYTERHUB_USER"), "");
  EXPECT_EQ(e.at("JUPYTERHUB_SERVER_NAME"), "");
  EXPECT_EQ(e.at("JUPYTERHUB_BASE_URL"), "/jh/");
  EXPECT_EQ(e.at("JUPYTERHUB_API_URL"), "http://override/hub/api");  // `environment` wins here...
  EXPECT_EQ(e.at("JUPYTERHUB_SERVICE_NAME"), "dash");                // ...but not over these
  EXPECT_EQ(e.at("JUPYTERHUB_SERVICE_URL"), "http://127.0.0.1:9000");
  EXPECT_EQ(e.at("JUPYTERHUB_SERVICE_PREFIX"), "/jh/services/dash/");
  EXPECT_EQ(e.at("X"), "y");
  EXPECT_FALSE(e.contains("JUPYTERHUB_ACTIVITY_URL"));
}

TEST(ServiceEnvironment, WithoutUrlNoServiceUrlAndASystemUsersVariables) {
  auto r = ServiceRegistry::load(R"([{"name": "cron", "command": ["x"], "api_token": "tok-0123456789"}])", "/");
  ASSERT_TRUE(r);
  spawn::SystemUser u{.name = "svc", .uid = 1000, .gid = 1000, .groups = {}, .home = "/home/svc", .shell = "/bin/sh"};
  auto env = service_environment(*r->find("cron"), {.api_url = "http://127.0.0.1:8081/hub/api", .base_url = "/"}, &u,
                                 env_of({}));
  ASSERT_TRUE(env);
  EXPECT_FALSE(env->contains("JUPYTERHUB_SERVICE_URL"));
  EXPECT_FALSE(env->contains("JUPYTERHUB_SERVICE_PREFIX"));
  EXPECT_EQ(env->at("JUPYTERHUB_OAUTH_CALLBACK_URL"), "");
  EXPECT_EQ(env->at("USER"), "svc");
  EXPECT_EQ(env->at("HOME"), "/home/svc");
  EXPECT_EQ(env->at("SHELL"), "/bin/sh");
}

TEST(ServiceEnvironment, NulInAValueIsAConfigError) {
  auto r = ServiceRegistry::load(R"([{"name": "s", "command": ["x"], "environment": {"A": "a\u0000b"}}])", "/");
  ASSERT_TRUE(r);
  auto env = service_environment(*r->find("s"), {}, nullptr, env_of({}));
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message.find("service \"s\""), std::string::npos);
}

}  // namespace
}  // namespace nbhub::hub
