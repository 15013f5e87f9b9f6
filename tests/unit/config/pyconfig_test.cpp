// Importing jupyterhub_config.py: the target deployments load unchanged, traits map to nbhub
// options, and mistakes are reported word for word.
#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "unit/config/config_test_util.hpp"

namespace nbhub::config {
namespace {

using namespace cfgtest;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::string const kData = NBHUB_TEST_DATA;

Loaded load_file(std::string const& path, Env const& env = {}) {
  CliInvocation cli;
  cli.config_file = path;
  return load(cli, env);
}

std::string const kCognito = "https://unity-test.auth.us-west-2.amazoncognito.com";

void expect_cognito_provider(ProviderConfig const& p) {
  EXPECT_EQ(p.name, "default");
  EXPECT_EQ(p.kind, "generic");
  EXPECT_EQ(p.login_service, "Unity Common Services");
  EXPECT_EQ(p.username_claim, "username");
  EXPECT_EQ(p.authorize_url, kCognito + "/oauth2/authorize");
  EXPECT_EQ(p.token_url, kCognito + "/oauth2/token");
  EXPECT_EQ(p.userdata_url, kCognito + "/oauth2/userInfo");
  // Recognised as Cognito: kind stays generic, domain and region are noted for the preset.
  EXPECT_EQ(p.cognito_domain, "unity-test.auth.us-west-2.amazoncognito.com");
  EXPECT_EQ(p.cognito_region, "us-west-2");
}

TEST(PyConfigExamples, CognitoOnALaptop) {
  auto path = kData + "/cognito_jupyterhub_config.py";
  auto l = load_file(path);
  EXPECT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_THAT(messages(l),
              ElementsAre(path + ":7: warning: GenericOAuthenticator.username_key: deprecated, "
                                 "read as `username_claim`"));
  ASSERT_EQ(l.hub.auth.providers.size(), 1u);
  auto const& p = l.hub.auth.providers[0];
  expect_cognito_provider(p);
  EXPECT_EQ(p.client_id, "...");
  EXPECT_EQ(p.client_secret.reveal(), "...");
  EXPECT_EQ(p.oauth_callback_url, "http://localhost:8000/hub/oauth_callback");
  EXPECT_EQ(p.token_auth, TokenAuth::client_secret_post);  // OAuthenticator 16.0.2+ default
  EXPECT_THAT(l.hub.auth.admin_users, ElementsAre("awstestuser777"));
  EXPECT_THAT(l.hub.auth.allowed_users, UnorderedElementsAre("awstestuser777", "someone"));
  EXPECT_EQ(l.hub.port, 8000);
  EXPECT_EQ(l.hub.hub_bind_url, "http://127.0.0.1:8081");
  EXPECT_EQ(l.hub.spawner, "local");
  EXPECT_THAT(l.hub.spawner_options, IsEmpty());
}

TEST(PyConfigExamples, CognitoWithDocker) {
  auto l = load_file(kData + "/cognito_docker_jupyterhub_config.py");
  EXPECT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_EQ(warnings(l).size(), 1u);  // username_key
  expect_cognito_provider(l.hub.auth.providers.at(0));
  EXPECT_EQ(l.hub.hub_bind_url, "http://0.0.0.0:8081");
  EXPECT_EQ(l.hub.port, 80);
  EXPECT_EQ(l.hub.spawner, "docker");
  EXPECT_EQ(l.hub.spawner_options,
            (std::map<std::string, std::string>{{"DockerSpawner.image",
                                                 "jupyterhub/singleuser:latest"}}));
}

Env const kAlbEnv = {{"COGNITO_CLIENT_ID", "1example23456789"},
                     {"COGNITO_CLIENT_SECRET", "alb-secret"}};

TEST(PyConfigExamples, CognitoBehindAnAlb) {
  auto l = load_file(kData + "/cognito_alb_jupyterhub_config.py", kAlbEnv);
  EXPECT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_THAT(warnings(l), IsEmpty());
  auto const& p = l.hub.auth.providers.at(0);
  expect_cognito_provider(p);
  EXPECT_EQ(p.client_id, "1example23456789");
  EXPECT_EQ(p.client_secret.reveal(), "alb-secret");
  EXPECT_EQ(p.oauth_callback_url, "https://hub.example.org/hub/oauth_callback");
  EXPECT_THAT(p.scope, ElementsAre("openid", "email", "profile"));
  EXPECT_EQ(p.token_auth, TokenAuth::client_secret_basic);
  EXPECT_EQ(p.logout_redirect_url,
            kCognito + "/logout?client_id=1example23456789"
                       "&logout_uri=https%3A%2F%2Fhub.example.org%2Fhub%2Flogin");
  EXPECT_EQ(l.hub.ip, "");
  EXPECT_EQ(l.hub.port, 8000);
  EXPECT_EQ(l.hub.base_url, "/");
  EXPECT_EQ(l.hub.public_url, "https://hub.example.org/");
  EXPECT_THAT(l.hub.trusted_proxies, ElementsAre("10.0.0.0/16"));
  EXPECT_TRUE(l.hub.auth.enable_auth_state);
}

TEST(PyConfigExamples, CognitoBehindAnAlbWithoutItsEnvironment) {
  auto path = kData + "/cognito_alb_jupyterhub_config.py";
  auto l = load_file(path, {{"COGNITO_CLIENT_SECRET", "alb-secret"}});
  auto e = errors(l);
  ASSERT_EQ(e.size(), 3u) << ::testing::PrintToString(e);
  EXPECT_EQ(e[0], path + ":17: GenericOAuthenticator.client_id: cannot read "
                         "`os.environ[\"COGNITO_CLIENT_ID\"]`: environment variable "
                         "COGNITO_CLIENT_ID is not set (Python would raise KeyError)");
  EXPECT_THAT(e[1], ::testing::StartsWith(path + ":26: GenericOAuthenticator.logout_redirect_url: "
                                                 "cannot read `( cognito + "));
  EXPECT_THAT(e[1], ::testing::EndsWith("environment variable COGNITO_CLIENT_ID is not set "
                                        "(Python would raise KeyError)"));
  EXPECT_EQ(e[2], path + ":10: auth.providers[0].client_id: required for every provider: the "
                         "OAuth client id registered at the provider (or OAUTH_CLIENT_ID in the "
                         "environment)");
}

Env const kCustosEnv = {{"CUSTOS_CLIENT_SECRET", "custos-secret"}};

TEST(PyConfigExamples, CustosOnKubernetes) {
  auto l = load_file(kData + "/custos_jupyterhub_config.py", kCustosEnv);
  EXPECT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_THAT(warnings(l), IsEmpty());
  auto const& p = l.hub.auth.providers.at(0);
  EXPECT_EQ(p.name, "default");
  EXPECT_EQ(p.kind, "custos");
  EXPECT_EQ(p.login_service, "Custos Login");
  EXPECT_EQ(p.client_id, "custos-6nwoqodstpe5mvcq09lh-10000101");
  EXPECT_EQ(p.client_secret.reveal(), "custos-secret");
  EXPECT_EQ(p.oauth_callback_url, "https://jupyter.example.org/hub/oauth_callback");
  EXPECT_EQ(p.custos_host, "custos.scigap.org");
  EXPECT_TRUE(l.hub.auth.allow_all);
  EXPECT_TRUE(l.hub.auth.enable_auth_state);
  EXPECT_TRUE(l.hub.shutdown_on_logout);
  EXPECT_EQ(l.hub.spawner, "kubernetes");
  EXPECT_EQ(l.hub.spawner_options.at("KubeSpawner.image"),
            "jupyterhub/k8s-singleuser-sample:3.0.0");

  Env env = kCustosEnv;
  env["CUSTOS_HOST"] = "custos.example.org";
  env["SINGLEUSER_IMAGE"] = "my/image:1";
  auto other = load_file(kData + "/custos_jupyterhub_config.py", env);
  EXPECT_EQ(other.hub.auth.providers.at(0).custos_host, "custos.example.org");
  EXPECT_EQ(other.hub.spawner_options.at("KubeSpawner.image"), "my/image:1");
}

// ---- negative cases, asserted word for word ----------------------------------------------

TEST(PyConfigErrors, SyntaxError) {
  auto l = load_py_text("c.JupyterHub.ip = ''\nc.JupyterHub.port = (8000\n");
  EXPECT_THAT(errors(l), ElementsAre("jupyterhub_config.py:2: syntax error: '(' was never closed"));
  EXPECT_EQ(l.hub.ip, "");  // nothing of the file applies, as Python would run none of it
}

TEST(PyConfigErrors, UnknownTraitWithSuggestion) {
  auto l = load_py_text("c.JupyterHub.prot = 8000\nc.GenericOAuthenticator.cliend_id = 'x'\n");
  EXPECT_THAT(other_warnings(l),
              ElementsAre("jupyterhub_config.py:1: warning: JupyterHub.prot: unknown trait of "
                          "JupyterHub, ignored; did you mean `JupyterHub.port`?",
                          "jupyterhub_config.py:2: warning: GenericOAuthenticator.cliend_id: "
                          "ignored: JupyterHub.authenticator_class is not set (JupyterHub's "
                          "default, PAMAuthenticator, is not available in nbhub)"));
  auto g = load_py_text("c.JupyterHub.authenticator_class = 'generic-oauth'\n"
                        "c.GenericOAuthenticator.cliend_id = 'x'\n");
  EXPECT_THAT(other_warnings(g),
              ElementsAre("jupyterhub_config.py:2: warning: GenericOAuthenticator.cliend_id: "
                          "unknown trait of GenericOAuthenticator, ignored; did you mean "
                          "`GenericOAuthenticator.client_id`?"));
}

TEST(PyConfigErrors, WrongType) {
  auto l = load_py_text("c.JupyterHub.port = \"eighty\"\nc.Authenticator.allow_all = 'yes'\n"
                        "c.Authenticator.admin_users = 'alice'\n");
  EXPECT_THAT(errors(l),
              ElementsAre("jupyterhub_config.py:1: JupyterHub.port: expected an integer from 0 to "
                          "65535, got \"eighty\"",
                          "jupyterhub_config.py:2: Authenticator.allow_all: expected True or "
                          "False, got \"yes\"",
                          "jupyterhub_config.py:3: Authenticator.admin_users: expected a list of "
                          "strings, got \"alice\""));
}

TEST(PyConfigErrors, UnknownClass) {
  auto imported = load_py_text("from myauth import MyAuthenticator\n"
                               "c.JupyterHub.authenticator_class = MyAuthenticator\n");
  EXPECT_THAT(errors(imported),
              ElementsAre("jupyterhub_config.py:2: JupyterHub.authenticator_class: "
                          "myauth.MyAuthenticator is not an authenticator nbhub provides; "
                          "expected one of GenericOAuthenticator, CustosOAuthenticator, "
                          "CILogonOAuthenticator, DummyAuthenticator, SharedPasswordAuthenticator, NullAuthenticator"));
  auto not_imported = load_py_text("c.JupyterHub.authenticator_class = GenericOAuthenticator\n");
  EXPECT_THAT(errors(not_imported),
              ElementsAre("jupyterhub_config.py:1: JupyterHub.authenticator_class: cannot read "
                          "`GenericOAuthenticator`: name `GenericOAuthenticator` is not defined; "
                          "import it first, or give a class as a dotted string"));
  auto spawner = load_py_text("c.JupyterHub.spawner_class = 'batchspawner.SlurmSpawner'\n");
  EXPECT_THAT(errors(spawner),
              ElementsAre("jupyterhub_config.py:1: JupyterHub.spawner_class: "
                          "batchspawner.SlurmSpawner is not a spawner nbhub provides; expected "
                          "one of LocalProcessSpawner, DockerSpawner, KubeSpawner"));
}

// ---- mapping -------------------------------------------------------------------------------

// Issue 18, point 4: JupyterHub's own test authenticators, by every name JupyterHub 3.0 and 5.x
// register (entry points `dummy`, `null`) and by class path.
TEST(PyConfigMapping, DummyAndNullAuthenticators) {
  for (auto const& [text, kind] : std::vector<std::pair<std::string, std::string>>{
           {"c.JupyterHub.authenticator_class = 'dummy'\n", "dummy"},
           {"c.JupyterHub.authenticator_class = 'jupyterhub.auth.DummyAuthenticator'\n", "dummy"},
           {"from jupyterhub.auth import DummyAuthenticator\n"
            "c.JupyterHub.authenticator_class = DummyAuthenticator\n", "dummy"},
           {"c.JupyterHub.authenticator_class = 'null'\n", "null"},
           {"c.JupyterHub.authenticator_class = 'jupyterhub.auth.NullAuthenticator'\n", "null"},
           {"import jupyterhub.auth\n"
            "c.JupyterHub.authenticator_class = jupyterhub.auth.NullAuthenticator\n", "null"}}) {
    auto l = load_py_text(text);
    EXPECT_TRUE(l.ok()) << text << ::testing::PrintToString(messages(l));
    EXPECT_THAT(warnings(l), IsEmpty()) << text;
    ASSERT_EQ(l.hub.auth.providers.size(), 1u) << text;
    EXPECT_EQ(l.hub.auth.providers[0].kind, kind) << text;
    EXPECT_EQ(l.hub.auth.providers[0].name, "default") << text;
  }
}

TEST(PyConfigMapping, DummyAuthenticatorTraits) {
  auto l = load_py_text("c.JupyterHub.authenticator_class = 'dummy'\n"
                        "c.DummyAuthenticator.password = 'shared-pw'\n"
                        "c.Authenticator.allowed_users = {'alice'}\n"
                        "c.Authenticator.admin_users = {'root'}\n");
  EXPECT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_EQ(l.hub.auth.providers.at(0).password.reveal(), "shared-pw");
  EXPECT_THAT(l.hub.auth.allowed_users, ElementsAre("alice"));
  EXPECT_THAT(::testing::PrintToString(messages(l)), Not(HasSubstr("shared-pw")));
  auto null = load_py_text("c.JupyterHub.authenticator_class = 'null'\n"
                           "c.DummyAuthenticator.password = 'shared-pw'\n");
  EXPECT_THAT(warnings(null),
              ElementsAre("jupyterhub_config.py:2: warning: DummyAuthenticator.password: ignored: "
                          "JupyterHub.authenticator_class is NullAuthenticator, which does not "
                          "read DummyAuthenticator"));
}

TEST(PyConfigMapping, ClassSpellings) {
  for (auto const& [text, kind] : std::vector<std::pair<std::string, std::string>>{
           {"'generic-oauth'", "generic"},
           {"'generic'", "generic"},
           {"'oauthenticator.generic.GenericOAuthenticator'", "generic"},
           {"'custosauthenticator.custos.CustosOAuthenticator'", "custos"},
           {"'cilogon'", "cilogon"}}) {
    auto l = load_py_text("c.JupyterHub.authenticator_class = " + text + "\n");
    ASSERT_EQ(l.hub.auth.providers.size(), 1u) << text;
    EXPECT_EQ(l.hub.auth.providers[0].kind, kind) << text;
  }
  auto imported = load_py_text("import oauthenticator.cilogon\n"
                               "c.JupyterHub.authenticator_class = "
                               "oauthenticator.cilogon.CILogonOAuthenticator\n");
  EXPECT_EQ(imported.hub.auth.providers.at(0).kind, "cilogon");
  for (auto const& [text, spawner] : std::vector<std::pair<std::string, std::string>>{
           {"'simple'", "local"},
           {"'localprocess'", "local"},
           {"'jupyterhub.spawner.LocalProcessSpawner'", "local"},
           {"'dockerspawner.DockerSpawner'", "docker"},
           {"'docker'", "docker"},
           {"'kubespawner.KubeSpawner'", "kubernetes"},
           {"'kubernetes'", "kubernetes"}}) {
    auto l = load_py_text("c.JupyterHub.spawner_class = " + text + "\n");
    EXPECT_THAT(errors(l), IsEmpty()) << text;
    EXPECT_EQ(l.hub.spawner, spawner) << text;
  }
}

TEST(PyConfigMapping, SubclassSectionWinsWhateverTheOrder) {
  auto l = load_py_text(R"(c.JupyterHub.authenticator_class = 'generic-oauth'
c.GenericOAuthenticator.client_id = 'generic'
c.OAuthenticator.client_id = 'base'
c.Authenticator.client_id = 'core'
c.GenericOAuthenticator.username_key = 'old'
c.OAuthenticator.username_claim = 'new'
c.Authenticator.allow_all = True
c.GenericOAuthenticator.authorize_url = 'https://idp.example.org/a'
c.GenericOAuthenticator.token_url = 'https://idp.example.org/t'
)");
  EXPECT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  auto const& p = l.hub.auth.providers.at(0);
  EXPECT_EQ(p.client_id, "generic");
  EXPECT_EQ(p.username_claim, "new");  // the current name beats its deprecated alias
}

TEST(PyConfigMapping, AuthenticatorTraits) {
  auto l = load_py_text(R"(from oauthenticator.generic import GenericOAuthenticator
c.JupyterHub.authenticator_class = GenericOAuthenticator
c.GenericOAuthenticator.client_id = 'hub'
c.GenericOAuthenticator.authorize_url = 'https://idp.example.org/a'
c.GenericOAuthenticator.token_url = 'https://idp.example.org/t'
c.GenericOAuthenticator.userdata_from_id_token = True
c.GenericOAuthenticator.basic_auth = True
c.GenericOAuthenticator.enable_pkce = False
c.GenericOAuthenticator.validate_server_cert = True
c.GenericOAuthenticator.scope = ['openid', 'email']
c.GenericOAuthenticator.auth_state_groups_key = 'oauth_user.cognito:groups'
c.GenericOAuthenticator.extra_authorize_params = {'identity_provider': 'COGNITO', 'n': 1}
c.GenericOAuthenticator.token_params = {'audience': 'api'}
c.GenericOAuthenticator.userdata_params = {'x': True}
c.GenericOAuthenticator.custom_403_message = 'Ask Jo.'
c.Authenticator.manage_groups = True
c.Authenticator.allowed_groups = {'staff'}
c.Authenticator.admin_groups = {'admins'}
c.Authenticator.blocked_users = ['mallory']
c.Authenticator.allow_existing_users = True
c.Authenticator.auto_login = True
c.Authenticator.username_map = {'Alice': 'alice'}
)");
  EXPECT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_THAT(warnings(l), IsEmpty());
  auto const& p = l.hub.auth.providers.at(0);
  EXPECT_TRUE(p.userdata_from_id_token);
  EXPECT_EQ(p.token_auth, TokenAuth::client_secret_basic);
  EXPECT_FALSE(p.pkce);
  EXPECT_THAT(p.scope, ElementsAre("openid", "email"));
  EXPECT_EQ(p.groups_claim, "cognito:groups");
  EXPECT_EQ(p.extra_authorize_params.at("n"), "1");
  EXPECT_EQ(p.userdata_params.at("x"), "True");  // Python's str(), as tornado would send it
  EXPECT_EQ(p.token_params.at("audience"), "api");
  auto const& a = l.hub.auth;
  EXPECT_EQ(a.custom_403_message, "Ask Jo.");
  EXPECT_TRUE(a.manage_groups);
  EXPECT_THAT(a.allowed_groups, ElementsAre("staff"));
  EXPECT_THAT(a.admin_groups, ElementsAre("admins"));
  EXPECT_THAT(a.blocked_users, ElementsAre("mallory"));
  EXPECT_TRUE(a.allow_existing_users);
  EXPECT_TRUE(a.auto_login);
  EXPECT_EQ(a.username_map.at("Alice"), "alice");
}

TEST(PyConfigMapping, DeprecatedAliasesWarnAndApply) {
  auto l = load_py_text(R"(c.JupyterHub.authenticator_class = 'generic'
c.GenericOAuthenticator.client_id = 'hub'
c.GenericOAuthenticator.authorize_url = 'https://idp.example.org/a'
c.GenericOAuthenticator.token_url = 'https://idp.example.org/t'
c.GenericOAuthenticator.extra_params = {'a': 'b'}
c.GenericOAuthenticator.tls_verify = False
c.GenericOAuthenticator.claim_groups_key = 'groups'
c.Authenticator.whitelist = {'alice'}
)");
  EXPECT_THAT(warnings(l),
              ElementsAre("jupyterhub_config.py:5: warning: GenericOAuthenticator.extra_params: "
                          "deprecated, read as `token_params`",
                          "jupyterhub_config.py:6: warning: GenericOAuthenticator.tls_verify: "
                          "deprecated, read as `validate_server_cert`",
                          "jupyterhub_config.py:7: warning: GenericOAuthenticator.claim_groups_key: "
                          "deprecated, read as `auth_state_groups_key`",
                          "jupyterhub_config.py:8: warning: Authenticator.whitelist: deprecated, "
                          "read as `allowed_users`",
                          "jupyterhub_config.py:6: warning: GenericOAuthenticator.tls_verify: TLS "
                          "certificates of this provider are not verified; use only for testing"));
  auto const& p = l.hub.auth.providers.at(0);
  EXPECT_EQ(p.token_params.at("a"), "b");
  EXPECT_FALSE(p.tls_verify);
  EXPECT_EQ(p.groups_claim, "groups");
  EXPECT_THAT(l.hub.auth.allowed_users, ElementsAre("alice"));
}

TEST(PyConfigMapping, GroupsNeedManageGroupsAsOAuthenticator17) {
  auto l = load_py_text("c.Authenticator.allowed_groups = {'staff'}\n"
                        "c.JupyterHub.authenticator_class = 'generic'\n");
  EXPECT_THAT(errors(l), ::testing::Contains(
                             "jupyterhub_config.py:1: Authenticator.allowed_groups: requires "
                             "auth.manage_groups = true (as OAuthenticator 17: groups come from the "
                             "provider's groups claim)"));
  auto bad_path = load_py_text("c.JupyterHub.authenticator_class = 'generic'\n"
                               "c.OAuthenticator.auth_state_groups_key = 'token_response.groups'\n");
  EXPECT_THAT(errors(bad_path),
              ::testing::Contains("jupyterhub_config.py:2: OAuthenticator.auth_state_groups_key: "
                                  "expected a path into the user info, \"oauth_user.CLAIM\", got "
                                  "\"token_response.groups\""));
}

TEST(PyConfigMapping, TraitsOfOtherClassesAreIgnoredWithAReason) {
  auto l = load_py_text(R"(c.JupyterHub.authenticator_class = 'generic'
c.CustosOAuthenticator.custos_host = 'custos.scigap.org'
c.GenericOAuthenticator.custos_host = 'custos.scigap.org'
c.OAuthenticator.http_request_kwargs = {'ca_certs': '/x.pem'}
c.CILogonOAuthenticator.allowed_idps = {}
c.DockerSpawner.image = 'x'
c.Foo.bar = 1
c.JupyterHb.port = 1
c.ConfigurableHTTPProxy.command = ['configurable-http-proxy']
c.JupyterHub.template_paths = ['/srv/templates']
)");
  EXPECT_THAT(
      other_warnings(l),
      ElementsAre(
          "jupyterhub_config.py:2: warning: CustosOAuthenticator.custos_host: ignored: "
          "JupyterHub.authenticator_class is GenericOAuthenticator, which does not read "
          "CustosOAuthenticator",
          "jupyterhub_config.py:3: warning: GenericOAuthenticator.custos_host: not a trait of "
          "GenericOAuthenticator (it belongs to CustosOAuthenticator), ignored",
          "jupyterhub_config.py:4: warning: OAuthenticator.http_request_kwargs: not supported by "
          "nbhub yet, ignored (see [http_client])",
          "jupyterhub_config.py:5: warning: CILogonOAuthenticator.allowed_idps: ignored: "
          "JupyterHub.authenticator_class is GenericOAuthenticator, which does not read "
          "CILogonOAuthenticator",
          "jupyterhub_config.py:6: warning: DockerSpawner.image: ignored: "
          "JupyterHub.spawner_class is LocalProcessSpawner (the default), which does not read "
          "DockerSpawner",
          "jupyterhub_config.py:7: warning: Foo.bar: unknown configuration class Foo, ignored",
          "jupyterhub_config.py:8: warning: JupyterHb.port: unknown configuration class "
          "JupyterHb, ignored; did you mean `JupyterHub`?",
          "jupyterhub_config.py:9: warning: ConfigurableHTTPProxy.command: ignored: nbhub's proxy "
          "is built in; its settings are nbhub options (docs/config.md)",
          "jupyterhub_config.py:10: warning: JupyterHub.template_paths: not supported by nbhub "
          "yet, ignored"));
}

TEST(PyConfigMapping, CustosLoginServiceIsForced) {
  auto l = load_py_text(R"(c.JupyterHub.authenticator_class = 'custos'
c.CustosOAuthenticator.login_service = 'My Custos'
)");
  EXPECT_THAT(warnings(l),
              ::testing::Contains("jupyterhub_config.py:2: warning: "
                                  "CustosOAuthenticator.login_service: CustosOAuthenticator always "
                                  "shows \"Custos Login\" (as upstream); ignored"));
  EXPECT_EQ(l.hub.auth.providers.at(0).login_service, "Custos Login");
}

// Issue 19: JupyterHub's ssl_cert/ssl_key make nbhub serve https itself.
TEST(PyConfigMapping, SslCertAndKeyMapToTheHubsTls) {
  auto l = load_py_text(R"(c.JupyterHub.ssl_cert = '/etc/cert.pem'
c.JupyterHub.ssl_key = '/etc/key.pem'
)");
  EXPECT_TRUE(errors(l).empty());
  EXPECT_EQ(l.hub.ssl_cert, "/etc/cert.pem");
  EXPECT_EQ(l.hub.ssl_key, "/etc/key.pem");
}

TEST(PyConfigMapping, JupyterHubTraits) {
  auto l = load_py_text(R"(import logging
c.JupyterHub.bind_url = 'http://:8765/jupyter'
c.JupyterHub.port = 8766
c.JupyterHub.hub_ip = '0.0.0.0'
c.JupyterHub.hub_port = 8082
c.JupyterHub.hub_connect_ip = 'hub.internal'
c.JupyterHub.db_url = 'postgresql+psycopg2://hub@db/hub'
c.JupyterHub.log_level = logging.DEBUG
c.JupyterHub.cookie_max_age_days = 0.5
c.JupyterHub.cookie_secret_file = '/srv/cookie_secret'
c.JupyterHub.admin_access = True
# ssl_cert / ssl_key: see PyConfigMapping.SslCertAndKeyMapToTheHubsTls
#
c.JupyterHub.shutdown_on_logout = True
c.JupyterHub.services = [{'name': 'culler', 'command': ['python3', '-m', 'culler']}]
c.JupyterHub.load_roles = [{'name': 'user', 'scopes': ['self', 'admin:auth_state!user']}]
c.Spawner.mem_limit = '2G'
c.Spawner.environment = {'A': 'b'}
c.Spawner.start_timout = 60
c.Spawner.start_timeout = 90
c.LocalProcessSpawner.start_timeout = 120
c.Spawner.cmd = 'jupyter-labhub'
c.JupyterHub.concurrent_spawn_limit = 5
c.JupyterHub.allow_named_servers = True
c.Spawner.env_keep = ['PATH']
)");
  EXPECT_THAT(errors(l), IsEmpty());
  EXPECT_THAT(other_warnings(l),
              ElementsAre("jupyterhub_config.py:7: warning: JupyterHub.db_url: the SQLAlchemy "
                          "driver \"psycopg2\" is ignored; nbhub uses libpq",
                          "jupyterhub_config.py:19: warning: Spawner.start_timout: unknown trait "
                          "of LocalProcessSpawner, kept in spawner.options; did you mean "
                          "`Spawner.start_timeout`?"));
  auto const& h = l.hub;
  EXPECT_EQ(h.ip, "");
  EXPECT_EQ(h.port, 8766);
  EXPECT_EQ(h.base_url, "/jupyter/");
  EXPECT_EQ(h.hub_bind_url, "http://0.0.0.0:8082");
  EXPECT_EQ(h.hub_connect_url, "http://hub.internal:8082");
  EXPECT_EQ(h.db_url, "postgresql://hub@db/hub");
  EXPECT_EQ(h.log_level, "debug");
  EXPECT_EQ(h.auth.cookie_max_age, Seconds(43200));
  EXPECT_EQ(h.cookie_secret_file, "/srv/cookie_secret");
  EXPECT_TRUE(h.admin_access);
  EXPECT_TRUE(h.shutdown_on_logout);
  EXPECT_EQ(h.services_json, R"([{"name":"culler","command":["python3","-m","culler"]}])");
  EXPECT_EQ(h.load_roles_json, R"([{"name":"user","scopes":["self","admin:auth_state!user"]}])");
  EXPECT_EQ(h.spawner_options,
            (std::map<std::string, std::string>{{"Spawner.mem_limit", "2G"},
                                                {"Spawner.start_timout", "60"}}));
  EXPECT_EQ(h.spawner_settings.environment.at("A"), "b");
  // LocalProcessSpawner.start_timeout beats Spawner.start_timeout, as in traitlets.
  EXPECT_EQ(h.spawner_settings.start_timeout, Seconds(120));
  EXPECT_THAT(h.spawner_settings.cmd, ElementsAre("jupyter-labhub"));
  EXPECT_EQ(h.spawner_settings.concurrent_spawn_limit, 5u);
  EXPECT_TRUE(h.spawner_settings.allow_named_servers);
  EXPECT_THAT(h.spawner_settings.env_keep, ElementsAre("PATH"));
  EXPECT_EQ(load_py_text("c.Spawner.ip = '0.0.0.0'\n").hub.spawner_settings.ip, "0.0.0.0");
  EXPECT_EQ(load_py_text("c.JupyterHub.base_url = 'hub'\n").hub.base_url, "/hub/");
  EXPECT_EQ(load_py_text("c.JupyterHub.log_level = 30\n").hub.log_level, "warn");
  EXPECT_EQ(load_py_text("c.JupyterHub.log_level = 'WARN'\n").hub.log_level, "warn");
}

TEST(PyConfigMapping, MethodsAndAugmentedAssignment) {
  auto l = load_py_text(R"(c.Authenticator.admin_users = {'a'}
c.Authenticator.admin_users.add('b')
c.Authenticator.allowed_users.update([]) if False else None
c.Authenticator.allowed_users.append('c')
c.Authenticator.allowed_users += ['d']
c.Authenticator.username_map.update({'X': 'x'})
)");
  // The third line is not readable; the others are.
  EXPECT_THAT(errors(l), ElementsAre(HasSubstr("jupyterhub_config.py:3: Authenticator.allowed_users:")));
  EXPECT_THAT(l.hub.auth.admin_users, ElementsAre("a", "b"));
  EXPECT_THAT(l.hub.auth.allowed_users, ElementsAre("c", "d"));
  EXPECT_EQ(l.hub.auth.username_map.at("X"), "x");
}

TEST(PyConfigMapping, EnvironmentLayersStillApplyOverAnImport) {
  auto l = load_py_text("c.JupyterHub.authenticator_class = 'generic'\n"
                        "c.JupyterHub.port = 8001\n",
                        {{"OAUTH_CLIENT_ID", "env-id"},
                         {"OAUTH2_AUTHORIZE_URL", "https://idp.example.org/a"},
                         {"OAUTH2_TOKEN_URL", "https://idp.example.org/t"},
                         {"NBHUB_PORT", "8002"},
                         {"NBHUB_AUTH_PROVIDER_DEFAULT_CLIENT_SECRET", "s"},
                         {"NBHUB_AUTH_ALLOW_ALL", "1"}});
  EXPECT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_EQ(l.hub.port, 8002);
  auto const& p = l.hub.auth.providers.at(0);
  EXPECT_EQ(p.client_id, "env-id");
  EXPECT_EQ(p.client_secret.reveal(), "s");
  EXPECT_EQ(p.token_url, "https://idp.example.org/t");
}

// Issue 18: where people land after sign-in, and how long an API start waits, as JupyterHub.
TEST(PyConfigMapping, LandingAndSlowSpawnTraits) {
  auto defaults = load_py_text("c.JupyterHub.admin_access = False\n");
  EXPECT_TRUE(defaults.hub.redirect_to_server);
  EXPECT_EQ(defaults.hub.default_url, "");
  EXPECT_EQ(defaults.hub.spawner_settings.slow_spawn_timeout, std::chrono::seconds(10));
  auto l = load_py_text(R"(c.JupyterHub.redirect_to_server = False
c.JupyterHub.default_url = '/hub/home'
c.JupyterHub.slow_spawn_timeout = 30
)");
  EXPECT_THAT(errors(l), IsEmpty());
  EXPECT_THAT(other_warnings(l), IsEmpty());
  EXPECT_FALSE(l.hub.redirect_to_server);
  EXPECT_EQ(l.hub.default_url, "/hub/home");
  EXPECT_EQ(l.hub.spawner_settings.slow_spawn_timeout, std::chrono::seconds(30));
  // Anything but a path on this hub would send every visitor of /hub/ elsewhere.
  auto bad = load_py_text("c.JupyterHub.default_url = 'https://elsewhere.example/'\n");
  EXPECT_THAT(errors(bad), ElementsAre(HasSubstr("default_url: \"https://elsewhere.example/\" is not a path on this hub")));
}

// OAuthenticator's CILogonOAuthenticator.idps (and its deprecated name allowed_idps): the dict
// keyed by entity id becomes the provider's `idps` tables, each with its entity_id.
TEST(PyConfigMapping, CilogonIdpsBecomeTables) {
  auto l = load_py_text(R"(c.JupyterHub.authenticator_class = 'cilogon'
c.CILogonOAuthenticator.client_id = 'cid'
c.CILogonOAuthenticator.allowed_idps = {
    'https://idp.a.edu/idp/shibboleth': {
        'username_derivation': {'username_claim': 'email', 'action': 'strip_idp_domain', 'domain': 'a.edu'},
        'allow_all': True,
    },
    'http://github.com/login/oauth/authorize': {
        'username_derivation': {'username_claim': 'preferred_username', 'action': 'prefix', 'prefix': 'github'},
        'allowed_domains': ['A.edu', '*.b.org'],
    },
}
)");
  EXPECT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_THAT(warnings(l), Contains("jupyterhub_config.py:3: warning: CILogonOAuthenticator.allowed_idps: "
                                    "deprecated, read as `idps`"));
  auto const& p = l.hub.auth.providers.at(0);
  auto v = boost::json::parse(p.idps_json);
  ASSERT_TRUE(v.is_array());
  ASSERT_EQ(v.as_array().size(), 2u);
  EXPECT_EQ(v.as_array()[0].at("entity_id"), "https://idp.a.edu/idp/shibboleth");
  EXPECT_EQ(v.as_array()[0].at("username_derivation").at("domain"), "a.edu");
  EXPECT_EQ(v.as_array()[1].at("entity_id"), "http://github.com/login/oauth/authorize");
  EXPECT_EQ(v.as_array()[1].at("allowed_domains").as_array().size(), 2u);

  auto bad = load_py_text("c.JupyterHub.authenticator_class = 'cilogon'\n"
                          "c.CILogonOAuthenticator.client_id = 'cid'\n"
                          "c.CILogonOAuthenticator.idps = ['https://idp.a.edu/']\n");
  EXPECT_THAT(::testing::PrintToString(messages(bad)),
              HasSubstr("jupyterhub_config.py:3: CILogonOAuthenticator.idps: expected a dict of entity id"));
}

}  // namespace
}  // namespace nbhub::config
