// nbhub.toml: values land in HubConfig; every problem is reported with file:line, option and
// what was expected.
#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "unit/config/config_test_util.hpp"

namespace nbhub::config {
namespace {

using namespace cfgtest;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

TEST(TomlConfig, EmptyFileGivesBuiltInDefaults) {
  auto l = load_toml_text("");
  EXPECT_TRUE(l.ok());
  EXPECT_THAT(other_warnings(l), IsEmpty());
  EXPECT_EQ(l.hub.port, 8000);
  EXPECT_EQ(l.hub.base_url, "/");
  EXPECT_EQ(l.hub.db_url, "sqlite:///nbhub.sqlite");
  EXPECT_EQ(l.hub.http.body_limit_bytes, 1024u * 1024u);
  EXPECT_THAT(l.hub.auth.providers, IsEmpty());
  EXPECT_THAT(warnings(l), Contains(HasSubstr("no identity provider is configured")));
}

TEST(TomlConfig, ReadsEverySectionIntoItsField) {
  auto l = load_toml_text(R"(ip = "127.0.0.1"
port = 9000
base_url = "/jupyter"
db_url = "postgresql://nbhub@localhost/nbhub"
trusted_proxies = ["10.0.0.0/16", "127.0.0.1"]
log_level = "DEBUG"
services = [{ name = "idle-culler", command = ["python3", "-m", "jupyterhub_idle_culler"] }]

[spawner]
kind = "docker"
start_timeout_seconds = 120
cmd = ["jupyterhub-singleuser", "--debug"]

[spawner.options]
"DockerSpawner.image" = "jupyterhub/singleuser:latest"

[cull]
enabled = true
timeout_seconds = 7200

[http]
body_limit_bytes = 2048
request_timeout_seconds = 12

[http_client]
connect_timeout_seconds = 3
ca_file = "/etc/ssl/extra.pem"

[auth]
admin_users = ["alice"]
allowed_users = ["bob"]
manage_groups = true
allowed_groups = ["staff"]
username_map = { "Alice@Example.org" = "alice" }
cookie_max_age_seconds = 3600

[[auth.providers]]
name = "cognito"
kind = "cognito"
client_id = "abc"
cognito_domain = "unity-test.auth.us-west-2.amazoncognito.com"
scope = ["openid", "email"]
groups_claim = "cognito:groups"
token_auth = "client_secret_basic"
extra_authorize_params = { identity_provider = "COGNITO" }
leeway_seconds = 30

[[auth.providers]]
name = "custos"
kind = "custos"
client_id = "custos-x-10000101"
client_secret = "s"
custos_host = "custos.scigap.org"
groups_claim = "groups"
)");
  EXPECT_THAT(errors(l), IsEmpty());
  EXPECT_THAT(other_warnings(l), IsEmpty());
  auto const& h = l.hub;
  EXPECT_EQ(h.ip, "127.0.0.1");
  EXPECT_EQ(h.port, 9000);
  EXPECT_EQ(h.base_url, "/jupyter/");  // a trailing '/' is added
  EXPECT_EQ(h.db_url, "postgresql://nbhub@localhost/nbhub");
  EXPECT_THAT(h.trusted_proxies, ElementsAre("10.0.0.0/16", "127.0.0.1"));
  EXPECT_EQ(h.log_level, "debug");
  EXPECT_EQ(h.services_json,
            R"([{"name":"idle-culler","command":["python3","-m","jupyterhub_idle_culler"]}])");
  EXPECT_EQ(h.spawner, "docker");
  EXPECT_EQ(h.spawner_settings.start_timeout, Seconds(120));
  EXPECT_THAT(h.spawner_settings.cmd, ElementsAre("jupyterhub-singleuser", "--debug"));
  EXPECT_EQ(h.spawner_options.at("DockerSpawner.image"), "jupyterhub/singleuser:latest");
  EXPECT_TRUE(h.cull.enabled);
  EXPECT_EQ(h.cull.timeout, Seconds(7200));
  EXPECT_EQ(h.http.body_limit_bytes, 2048u);
  EXPECT_EQ(h.http.request_timeout, Seconds(12));
  EXPECT_EQ(h.http_client.connect_timeout, Seconds(3));
  EXPECT_EQ(h.http_client.ca_file, "/etc/ssl/extra.pem");
  EXPECT_THAT(h.auth.admin_users, ElementsAre("alice"));
  EXPECT_THAT(h.auth.allowed_groups, ElementsAre("staff"));
  EXPECT_EQ(h.auth.username_map.at("Alice@Example.org"), "alice");
  EXPECT_EQ(h.auth.cookie_max_age, Seconds(3600));
  ASSERT_EQ(h.auth.providers.size(), 2u);
  auto const& p = h.auth.providers[0];
  EXPECT_EQ(p.name, "cognito");
  EXPECT_EQ(p.kind, "cognito");
  EXPECT_THAT(p.scope, ElementsAre("openid", "email"));
  EXPECT_EQ(p.token_auth, TokenAuth::client_secret_basic);
  EXPECT_EQ(p.extra_authorize_params.at("identity_provider"), "COGNITO");
  EXPECT_EQ(p.leeway, Seconds(30));
  EXPECT_EQ(h.auth.providers[1].client_secret.reveal(), "s");
}

TEST(TomlConfig, UnknownKeyIsAWarningWithASpellingSuggestion) {
  auto l = load_toml_text("prot = 8000\n[http]\nbody_limt_bytes = 5\n");
  EXPECT_TRUE(l.ok());
  EXPECT_THAT(other_warnings(l),
              ElementsAre("nbhub.toml:1: warning: prot: unknown option, ignored; did you mean "
                          "`port`?",
                          "nbhub.toml:3: warning: http.body_limt_bytes: unknown option, ignored; "
                          "did you mean `body_limit_bytes`?"));
}

TEST(TomlConfig, TopLevelKeyAfterATableIsExplained) {
  auto l = load_toml_text("[auth]\nallow_all = true\nport = 80\n");
  EXPECT_THAT(other_warnings(l),
              ElementsAre("nbhub.toml:3: warning: auth.port: unknown option, ignored (top-level "
                          "keys such as `port` must come before the first [table])"));
}

TEST(TomlConfig, ReportsEveryBadValueWithLineOptionAndExpectation) {
  auto l = load_toml_text(R"(port = "eighty"
base_url = "hub"
db_url = "mysql://localhost/hub"
log_level = "loud"

[http]
body_limit_bytes = -1
idle_timeout_seconds = "5m"

[auth]
allow_all = "yes"

[[auth.providers]]
name = "Cognito Pool"
kind = "cogito"
client_id = "abc"
authorize_url = "idp.example.org/authorize"
token_auth = "basic"
scope = "openid email"
)");
  EXPECT_FALSE(l.ok());
  EXPECT_THAT(
      errors(l),
      ElementsAre(
          "nbhub.toml:1: port: expected an integer from 0 to 65535, got \"eighty\"",
          "nbhub.toml:2: base_url: expected a path starting with '/', got \"hub\"",
          "nbhub.toml:3: db_url: expected sqlite:///PATH, sqlite:// or postgresql://..., got "
          "\"mysql://localhost/hub\"",
          "nbhub.toml:4: log_level: expected one of trace, debug, info, warn, error, critical, "
          "off, got \"loud\"",
          "nbhub.toml:7: http.body_limit_bytes: expected a non-negative integer, got -1",
          "nbhub.toml:8: http.idle_timeout_seconds: expected a non-negative whole number of "
          "seconds, got \"5m\"",
          "nbhub.toml:11: auth.allow_all: expected true or false, got \"yes\"",
          "nbhub.toml:14: auth.providers[0].name: expected a name of lower-case letters, digits, "
          "'-' and '_', got \"Cognito Pool\"",
          "nbhub.toml:15: auth.providers[0].kind: expected one of generic, oidc, cognito, custos, "
          "cilogon, dummy, shared-password, null, got \"cogito\"",
          "nbhub.toml:17: auth.providers[0].authorize_url: expected an http:// or https:// URL, "
          "got \"idp.example.org/authorize\"",
          "nbhub.toml:18: auth.providers[0].token_auth: expected one of client_secret_post, "
          "client_secret_basic, custos_bearer_pair, got \"basic\"",
          "nbhub.toml:19: auth.providers[0].scope: expected an array of strings, got \"openid "
          "email\"",
          // Whole-config checks still run: the bad URL left authorize_url empty.
          "nbhub.toml:13: auth.providers[0].authorize_url: required for kind = \"generic\" (or "
          "OAUTH2_AUTHORIZE_URL)",
          "nbhub.toml:13: auth.providers[0].token_url: required for kind = \"generic\" (or "
          "OAUTH2_TOKEN_URL)"));
}

TEST(TomlConfig, FirstLayoutSpawnerKeysAreStillRead) {
  auto l = load_toml_text("spawner = \"docker\"\n[spawner_options]\n\"Spawner.cmd\" = \"x\"\n");
  EXPECT_THAT(errors(l), IsEmpty());
  EXPECT_EQ(l.hub.spawner, "docker");
  EXPECT_EQ(l.hub.spawner_options.at("Spawner.cmd"), "x");
  EXPECT_THAT(other_warnings(l),
              ElementsAre("nbhub.toml:1: warning: spawner: now spelled `spawner.kind`; read as such",
                          "nbhub.toml:2: warning: spawner_options: now spelled `spawner.options`; "
                          "read as such"));
}

TEST(TomlConfig, PortOutOfRange) {
  auto l = load_toml_text("port = 70000\n");
  EXPECT_THAT(errors(l),
              ElementsAre("nbhub.toml:1: port: expected an integer from 0 to 65535, got 70000"));
}

TEST(TomlConfig, ProxyThreadsOutsideOneTo256AreRefused) {
  for (auto const* text : {"[proxy]\nthreads = 0\n", "[proxy]\nthreads = 257\n"}) {
    auto l = load_toml_text(text);
    EXPECT_FALSE(l.ok()) << text;
    EXPECT_THAT(errors(l), ElementsAre("nbhub.toml:2: proxy.threads: must be between 1 and 256")) << text;
  }
  auto ok = load_toml_text("[proxy]\nthreads = 4\n");
  EXPECT_TRUE(ok.ok());
}

TEST(TomlConfig, HubThreadsFromZeroTo256) {
  auto l = load_toml_text("hub_threads = 257\n");
  EXPECT_THAT(errors(l), ElementsAre("nbhub.toml:1: hub_threads: must be between 0 and 256"));
  EXPECT_EQ(load_toml_text("").hub.hub_threads, 1u);
  auto shared = load_toml_text("hub_threads = 0\n");
  EXPECT_TRUE(shared.ok());
  EXPECT_EQ(shared.hub.hub_threads, 0u);
}

TEST(TomlConfig, ProxyBusyPollIsBounded) {
  auto l = load_toml_text("[proxy]\nbusy_poll_microseconds = 20000\n");
  EXPECT_THAT(errors(l),
              ElementsAre("nbhub.toml:2: proxy.busy_poll_microseconds: must be at most 10000 (10 ms)"));
  auto off = load_toml_text("[proxy]\nbusy_poll_microseconds = 0\n");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off.hub.proxy.busy_poll_microseconds, 0u);
  EXPECT_EQ(load_toml_text("").hub.proxy.busy_poll_microseconds, 50u);
}

// Issue 24: the slow-reader bound of the hub's proxy comes from the configuration.
TEST(TomlConfig, ProxyStallTimeoutIsConfigurableAndNotZero) {
  EXPECT_EQ(load_toml_text("").hub.proxy.stall_timeout, std::chrono::seconds(300));
  auto set = load_toml_text("[proxy]\nstall_timeout_seconds = 20\n");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set.hub.proxy.stall_timeout, std::chrono::seconds(20));
  auto zero = load_toml_text("[proxy]\nstall_timeout_seconds = 0\n");
  EXPECT_THAT(errors(zero), ElementsAre("nbhub.toml:2: proxy.stall_timeout_seconds: must be at least 1: 0 would cut "
                                        "every proxied body"));
}

TEST(TomlConfig, SpawnerIpIsAnAddress) {
  EXPECT_EQ(load_toml_text("").hub.spawner_settings.ip, "127.0.0.1");
  for (auto const* ip : {"10.0.0.11", "0.0.0.0", "::", "fd00::11"}) {
    auto l = load_toml_text(fmt::format("[spawner]\nip = \"{}\"\n", ip));
    ASSERT_TRUE(l.ok()) << ip;
    EXPECT_EQ(l.hub.spawner_settings.ip, ip);
  }
  // A host name would be looked up by nobody: the routes name the address as written.
  auto name = load_toml_text("[spawner]\nip = \"node-1.example.org\"\n");
  EXPECT_THAT(errors(name), ElementsAre("nbhub.toml:2: spawner.ip: \"node-1.example.org\" is not an IPv4 or "
                                        "IPv6 address"));
}

TEST(TomlConfig, JwksRefetchIntervalIsBounded) {
  EXPECT_EQ(load_toml_text("").hub.auth.jwks_refetch_interval, std::chrono::seconds(5));
  auto ok = load_toml_text("[auth]\njwks_refetch_interval_seconds = 30\n");
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.hub.auth.jwks_refetch_interval, std::chrono::seconds(30));
  for (auto const* text : {"[auth]\njwks_refetch_interval_seconds = 0\n",
                           "[auth]\njwks_refetch_interval_seconds = 301\n"}) {
    auto l = load_toml_text(text);
    EXPECT_THAT(errors(l), ElementsAre(HasSubstr("nbhub.toml:2: auth.jwks_refetch_interval_seconds: "
                                                 "must be between 1 and 300")))
        << text;
  }
}

TEST(TomlConfig, AcmeSectionIsReadAndItsErrorsNameTheirKeys) {
  auto ok = load_toml_text(
      "[tls.acme]\ndomains = [\"hub.example.org\"]\naccept_terms = true\n"
      "contact_email = \"admin@example.org\"\nchallenge = \"TLS-ALPN-01\"\nhttp_port = 8080\n"
      "renew_at_percent = 50\nretry_max_seconds = 600\n");
  EXPECT_TRUE(ok.ok()) << testing::PrintToString(messages(ok));
  EXPECT_TRUE(ok.hub.acme.enabled());
  EXPECT_EQ(ok.hub.acme.challenge, "tls-alpn-01");
  EXPECT_EQ(ok.hub.acme.http_port, 8080);
  EXPECT_EQ(ok.hub.acme.retry_max, std::chrono::seconds(600));
  EXPECT_EQ(ok.hub.acme.directory_url, "https://acme-v02.api.letsencrypt.org/directory");
  EXPECT_FALSE(load_toml_text("").hub.acme.enabled());

  auto bad = load_toml_text(
      "[tls.acme]\ndomains = [\"*.example.org\"]\ncontact_email = \"nobody\"\n"
      "renew_at_percent = 99\nretry_min_seconds = 60\nretry_max_seconds = 30\n");
  auto e = errors(bad);
  EXPECT_THAT(e, Contains(HasSubstr("tls.acme.accept_terms: must be true")));
  EXPECT_THAT(e, Contains(HasSubstr("tls.acme.domains: \"*.example.org\" is not a DNS name")));
  EXPECT_THAT(e, Contains(HasSubstr("tls.acme.contact_email: \"nobody\" is not an e-mail address")));
  EXPECT_THAT(e, Contains(HasSubstr("tls.acme.renew_at_percent: must be between 10 and 95")));
  EXPECT_THAT(e, Contains(HasSubstr("tls.acme.retry_max_seconds: must be at least")));
  auto both = errors(load_toml_text(
      "ssl_cert = \"/c.pem\"\nssl_key = \"/k.pem\"\n"
      "[tls.acme]\ndomains = [\"hub.example.org\"]\naccept_terms = true\n"));
  EXPECT_THAT(both, Contains(AllOf(HasSubstr("ssl_cert"), HasSubstr("tls.acme.domains"))));
  EXPECT_TRUE(load_toml_text("redirect_port = 8080\n[tls.acme]\ndomains = [\"hub.example.org\"]\n"
                             "accept_terms = true\n").ok());
  EXPECT_THAT(errors(load_toml_text("[tls.acme]\nchallenge = \"dns-01\"\n")),
              ElementsAre(HasSubstr("tls.acme.challenge")));
}

TEST(TomlConfig, DatesAndNonTablesAreErrors) {
  auto l = load_toml_text("port = 1979-05-27\nhttp = 5\n");
  EXPECT_THAT(errors(l),
              ElementsAre("nbhub.toml:1: port: expected port (0-65535), got a date or time",
                          "nbhub.toml:2: http: expected a table ([http])"));
}

TEST(TomlConfig, ProvidersMustBeAnArrayOfTables) {
  auto l = load_toml_text("[auth.providers]\nclient_id = \"x\"\n");
  EXPECT_THAT(errors(l), ElementsAre(HasSubstr(
                             "auth.providers: expected an array of tables ([[auth.providers]])")));
}

TEST(TomlConfig, SyntaxErrorNamesTheLine) {
  auto l = load_toml_text("port = 8000\nbase_url = \"/x\n");
  ASSERT_EQ(errors(l).size(), 1u);
  EXPECT_THAT(errors(l)[0], StartsWith("nbhub.toml:2: TOML syntax error: "));
}

TEST(TomlConfig, SyntaxErrorOnASecretLineHidesTheDetails) {
  auto l = load_toml_text(kProvider + "client_secret = \"hunter2\n");
  EXPECT_THAT(errors(l), ElementsAre("nbhub.toml:7: TOML syntax error (details hidden: the line "
                                     "holds a secret)"));
}

TEST(TomlConfig, SecretValuesAreNeverEchoed) {
  auto l = load_toml_text(kProvider + "client_secret = 987654321\nclient_secert = \"hunter2\"\n");
  EXPECT_THAT(errors(l),
              ElementsAre("nbhub.toml:7: auth.providers[0].client_secret: expected a string"));
  for (auto const& m : messages(l)) {
    EXPECT_THAT(m, Not(HasSubstr("987654321")));
    EXPECT_THAT(m, Not(HasSubstr("hunter2")));
  }
  EXPECT_THAT(other_warnings(l),
              ElementsAre("nbhub.toml:8: warning: auth.providers[0].client_secert: unknown "
                          "option, ignored; did you mean `client_secret`?"));
}

TEST(TomlConfig, WholeConfigChecksReportEveryProblemAtOnce) {
  auto l = load_toml_text(R"(ssl_cert = "hub.pem"

[auth]
allowed_groups = ["staff"]
admin_groups = ["admins"]

[[auth.providers]]
kind = "generic"

[[auth.providers]]
kind = "custos"
client_id = "custos-a-1"

[[auth.providers]]
kind = "cognito"
client_id = "c"

[[auth.providers]]
name = "custos"
kind = "oidc"
client_id = "o"
userdata_url = "https://idp.example.org/userinfo"
userdata_from_id_token = true
)");
  EXPECT_THAT(
      errors(l),
      ElementsAre(
          "nbhub.toml:1: ssl_cert: ssl_cert and ssl_key go together; set both or neither",
          "nbhub.toml:4: auth.allowed_groups: requires auth.manage_groups = true (as "
          "OAuthenticator 17: groups come from the provider's groups claim)",
          "nbhub.toml:5: auth.admin_groups: requires auth.manage_groups = true (as "
          "OAuthenticator 17: groups come from the provider's groups claim)",
          "nbhub.toml:7: auth.providers[0].client_id: required for every provider: the OAuth "
          "client id registered at the provider (or OAUTH_CLIENT_ID in the environment)",
          "nbhub.toml:7: auth.providers[0].authorize_url: required for kind = \"generic\" (or "
          "OAUTH2_AUTHORIZE_URL)",
          "nbhub.toml:7: auth.providers[0].token_url: required for kind = \"generic\" (or "
          "OAUTH2_TOKEN_URL)",
          "nbhub.toml:10: auth.providers[1].custos_host: required for kind = \"custos\" (or "
          "CUSTOS_HOST)",
          "nbhub.toml:10: auth.providers[1].client_secret: required for kind = \"custos\": "
          "Custos authenticates the client with it",
          "nbhub.toml:14: auth.providers[2].cognito_domain: required for kind = \"cognito\": "
          "PREFIX.auth.REGION.amazoncognito.com or your custom domain",
          "nbhub.toml:19: auth.providers[3].name: \"custos\" is already the name of "
          "auth.providers[1]; give each provider its own name",
          "nbhub.toml:18: auth.providers[3].issuer: required for kind = \"oidc\": the issuer URL "
          "used for discovery",
          "nbhub.toml:23: auth.providers[3].userdata_from_id_token: cannot be combined with "
          "userdata_url; set one of them (as OAuthenticator)"));
}

TEST(TomlConfig, ProvidersWithoutANameAreNamedAfterTheirKind) {
  auto l = load_toml_text("[auth]\nallow_all = true\n[[auth.providers]]\nkind = \"cilogon\"\n"
                          "client_id = \"cilogon:/client_id/1\"\n");
  EXPECT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_EQ(l.hub.auth.providers.at(0).name, "cilogon");
}

TEST(TomlConfig, DenyByDefaultIsAWarning) {
  auto l = load_toml_text(kProvider);
  EXPECT_TRUE(l.ok());
  EXPECT_THAT(warnings(l),
              ElementsAre("warning: auth: no allow rule is set, so nobody may log in (deny by "
                          "default, as OAuthenticator 16+); set allow_all, allowed_users, "
                          "admin_users or allowed_groups"));
}

// Issue 18, point 4: JupyterHub's test authenticators as provider kinds.
TEST(TomlConfig, DummyAndNullKindsNeedNoClientOrAllowRule) {
  auto dummy = load_toml_text("[[auth.providers]]\nkind = \"dummy\"\npassword = \"s3cret-pw\"\n");
  EXPECT_TRUE(dummy.ok()) << ::testing::PrintToString(messages(dummy));
  EXPECT_THAT(warnings(dummy), IsEmpty());  // dummy allows everyone unless allowed_users is set
  ASSERT_EQ(dummy.hub.auth.providers.size(), 1u);
  EXPECT_EQ(dummy.hub.auth.providers[0].name, "dummy");
  EXPECT_EQ(dummy.hub.auth.providers[0].password.reveal(), "s3cret-pw");
  auto null = load_toml_text("[[auth.providers]]\nkind = \"null\"\n");
  EXPECT_TRUE(null.ok()) << ::testing::PrintToString(messages(null));
  EXPECT_THAT(warnings(null), IsEmpty());
  EXPECT_EQ(null.hub.auth.providers.at(0).kind, "null");
}

TEST(TomlConfig, NullCannotBeCombinedAndPasswordIsOnlyForDummy) {
  auto l = load_toml_text("[auth]\nallow_all = true\n[[auth.providers]]\nkind = \"null\"\n" +
                          kProvider + "password = \"s3cret-pw\"\n");
  EXPECT_THAT(errors(l),
              ElementsAre("nbhub.toml:4: auth.providers[0].kind: kind = \"null\" means nobody "
                          "signs in (an API-only hub), so it cannot be combined with other "
                          "providers; remove it or them",
                          "nbhub.toml:11: auth.providers[1].password: is only read by kind = "
                          "\"dummy\" (this provider is kind = \"generic\"); remove it"));
  EXPECT_THAT(::testing::PrintToString(messages(l)), Not(HasSubstr("s3cret-pw")));
}

TEST(TomlConfig, PlainHttpToARemoteTokenEndpointWarns) {
  auto l = load_toml_text(R"([auth]
allow_all = true
[[auth.providers]]
client_id = "hub"
authorize_url = "http://idp.example.org/authorize"
token_url = "http://idp.example.org/token"
tls_verify = false
[[auth.providers]]
name = "local"
client_id = "hub"
authorize_url = "http://127.0.0.1:5000/authorize"
token_url = "http://127.0.0.1:5000/token"
)");
  EXPECT_TRUE(l.ok());
  EXPECT_THAT(warnings(l),
              ElementsAre("nbhub.toml:7: warning: auth.providers[0].tls_verify: TLS certificates "
                          "of this provider are not verified; use only for testing",
                          "nbhub.toml:6: warning: auth.providers[0].token_url: uses plain http: "
                          "tokens would cross the network unencrypted"));
}

TEST(Diagnostic, FormatsLocationOptionAndMessage) {
  EXPECT_EQ((Diagnostic{"nbhub.toml", 12, "auth.providers[0].kind", "bad", true}.to_string()),
            "nbhub.toml:12: auth.providers[0].kind: bad");
  EXPECT_EQ((Diagnostic{"environment", 0, "NBHUB_PORT", "bad", false}.to_string()),
            "environment: warning: NBHUB_PORT: bad");
  EXPECT_EQ((Diagnostic{"", 0, "", "bad", true}.to_string()), "bad");
}

// CILogon's `idps`: [[auth.providers.idps]] tables under their provider, kept as JSON for the
// cilogon preset (auth/cilogon.hpp), which checks them.
TEST(TomlConfig, CilogonIdpsAreTablesUnderTheirProvider) {
  auto l = load_toml_text(R"([[auth.providers]]
kind = "cilogon"
client_id = "cid"
[[auth.providers.idps]]
entity_id = "https://idp.a.edu/idp/shibboleth"
username_derivation = { username_claim = "email", action = "strip_idp_domain", domain = "a.edu" }
allow_all = true
[[auth.providers.idps]]
entity_id = "http://github.com/login/oauth/authorize"
username_derivation = { username_claim = "preferred_username", action = "prefix", prefix = "github" }
allowed_domains = ["a.edu"]
)");
  ASSERT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  auto v = boost::json::parse(l.hub.auth.providers.at(0).idps_json);
  ASSERT_TRUE(v.is_array());
  ASSERT_EQ(v.as_array().size(), 2u);
  EXPECT_EQ(v.as_array()[0].at("username_derivation").at("action"), "strip_idp_domain");
  EXPECT_EQ(v.as_array()[1].at("allowed_domains").at(0), "a.edu");
  auto bad = load_toml_text("[[auth.providers]]\nkind = \"cilogon\"\nclient_id = \"c\"\nidps = \"x\"\n");
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace nbhub::config
