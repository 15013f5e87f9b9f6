// config::plan_reload (issue 21): what a reload applies, what waits for a restart, and the log
// line that names the changes without their values.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "config/config_json.hpp"
#include "config/reload_plan.hpp"
#include "config_test_util.hpp"

namespace nbhub::config {
namespace {

using cfgtest::Env;
using cfgtest::kProvider;
using cfgtest::load_toml_text;

ReloadPlan plan(std::string const& before, std::string const& after, Env const& env = {}) {
  auto a = load_toml_text(before, env);
  auto b = load_toml_text(after, env);
  EXPECT_TRUE(a.ok()) << cfgtest::messages(a).front();
  EXPECT_TRUE(b.ok()) << (cfgtest::errors(b).empty() ? "" : cfgtest::errors(b).front());
  return plan_reload(a.hub, a.provenance, b.hub, b.provenance);
}

TEST(ReloadPlan, SameConfigurationChangesNothing) {
  auto text = "port = 8000\n[auth]\nallowed_users = [\"alice\"]\n" + kProvider;
  auto p = plan(text, text);
  EXPECT_FALSE(p.changed());
  EXPECT_TRUE(p.restart.empty());
  EXPECT_EQ(summary(p), "no change");
  EXPECT_EQ(restart_warning(p), "");
}

TEST(ReloadPlan, AllowedUsersAreLive) {
  auto p = plan("[auth]\nallowed_users = [\"alice\"]\n" + kProvider,
                "[auth]\nallowed_users = [\"bob\"]\nblocked_users = [\"eve\"]\n" + kProvider);
  EXPECT_EQ(p.live, (std::vector<std::string>{"auth.allowed_users", "auth.blocked_users"}));
  EXPECT_EQ(p.next.auth.allowed_users, std::vector<std::string>{"bob"});
  EXPECT_EQ(summary(p), "changed auth.allowed_users, auth.blocked_users");
}

TEST(ReloadPlan, RestartOnlyOptionsKeepTheirRunningValueAndSource) {
  auto p = plan("port = 8000\ndb_url = \"sqlite:///a.sqlite\"\n" + kProvider,
                "port = 9000\ndb_url = \"sqlite:///b.sqlite\"\n[cull]\nenabled = true\n" + kProvider);
  EXPECT_EQ(p.restart, (std::vector<std::string>{"port", "db_url"}));
  EXPECT_EQ(p.next.port, 8000);
  EXPECT_EQ(p.next.db_url, "sqlite:///a.sqlite");
  EXPECT_TRUE(p.next.cull.enabled);
  EXPECT_EQ(p.next_provenance.hub.at("port").line, 1);
  EXPECT_NE(restart_warning(p).find("port, db_url"), std::string::npos);
}

TEST(ReloadPlan, TlsFilesAreNeitherAppliedNorWarnedAbout) {
  auto const* cert = find_option(Scope::hub, "ssl_cert");
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(reloadable(*cert, HubConfig{}), Reloadable::ignored);
  HubConfig a, b;
  b.ssl_cert = "/etc/new.pem";
  auto p = plan_reload(a, {}, b, {});
  EXPECT_TRUE(p.restart.empty());
  EXPECT_EQ(p.next.ssl_cert, "");
}

TEST(ReloadPlan, ProvidersAddedRemovedAndChangedByName) {
  auto second = R"(
[[auth.providers]]
name = "other"
client_id = "hub2"
authorize_url = "https://other.example.org/authorize"
token_url = "https://other.example.org/token"
)";
  auto p = plan(kProvider + second,
                R"(
[[auth.providers]]
name = "idp"
client_id = "hub"
client_secret = "s3cret-value"
login_service = "New name"
authorize_url = "https://idp.example.org/authorize"
token_url = "https://idp.example.org/token"

[[auth.providers]]
name = "third"
client_id = "hub3"
authorize_url = "https://third.example.org/authorize"
token_url = "https://third.example.org/token"
)");
  ASSERT_EQ(p.providers.size(), 3u);
  EXPECT_EQ(p.providers[0].name, "idp");
  EXPECT_EQ(p.providers[0].kind, ProviderChange::Kind::changed);
  EXPECT_EQ(p.providers[0].keys, (std::vector<std::string>{"login_service", "client_secret"}));
  EXPECT_EQ(p.providers[1].name, "third");
  EXPECT_EQ(p.providers[1].kind, ProviderChange::Kind::added);
  EXPECT_EQ(p.providers[2].name, "other");
  EXPECT_EQ(p.providers[2].kind, ProviderChange::Kind::removed);
  auto line = summary(p);
  EXPECT_EQ(line, "changed auth.providers: idp changed (login_service, client_secret); third added; other removed");
  EXPECT_EQ(line.find("s3cret"), std::string::npos);
}

TEST(ReloadPlan, ReorderedProvidersAreAChange) {
  auto a = kProvider + "\n[[auth.providers]]\nname = \"b\"\nkind = \"dummy\"\n";
  auto b = "[[auth.providers]]\nname = \"b\"\nkind = \"dummy\"\n" + kProvider;
  auto p = plan(a, b);
  EXPECT_TRUE(p.changed());
  EXPECT_EQ(p.live, std::vector<std::string>{"auth.providers (order)"});
}

TEST(ReloadPlan, EveryLiveOptionExists) {
  // kLive names options by key: a renamed option must not silently become restart-only.
  HubConfig docker;
  docker.spawner = "docker";
  std::size_t live = 0, local = 0;
  for (auto const& o : options()) {
    if (o.scope != Scope::hub) continue;
    if (reloadable(o, docker) == Reloadable::live) ++live;
    if (reloadable(o, HubConfig{}) == Reloadable::live) ++local;
  }
  EXPECT_EQ(live, 40u);
  EXPECT_EQ(local, 41u);
}

TEST(ReloadPlan, SpawnerSettingsAreLiveForEverySpawnerHomesOnlyForTheLocalOne) {
  auto before = "[spawner]\nargs = [\"--a\"]\n" + kProvider;
  auto after = "[spawner]\nargs = [\"--b\"]\n[spawner.environment]\nMARK = \"2\"\n" + kProvider;
  auto p = plan(before, after);
  EXPECT_EQ(p.live, (std::vector<std::string>{"spawner.args", "spawner.environment"}));
  EXPECT_EQ(p.next.spawner_settings.args, std::vector<std::string>{"--b"});
  auto docker = [](std::string text) { return text.replace(text.find("[spawner]\n"), 10, "[spawner]\nkind = \"docker\"\n"); };
  auto d = plan(docker(before), docker(after));
  EXPECT_EQ(d.live, (std::vector<std::string>{"spawner.args", "spawner.environment"}));
  EXPECT_TRUE(d.restart.empty());
  EXPECT_EQ(d.next.spawner_settings.args, std::vector<std::string>{"--b"});

  // Limits, timeouts and the spawner's own traits too; the kind and the log directory wait for
  // a restart.
  auto limits = plan(docker("[spawner]\nconcurrent_spawn_limit = 5\nlog_dir = \"a\"\n" + kProvider),
                     docker("[spawner]\nconcurrent_spawn_limit = 2\nstart_timeout_seconds = 9\nlog_dir = \"b\"\n"
                            "[spawner.options]\n\"DockerSpawner.image\" = \"x:2\"\n" +
                            kProvider));
  EXPECT_EQ(limits.live, (std::vector<std::string>{"spawner.start_timeout_seconds", "spawner.concurrent_spawn_limit",
                                                   "spawner.options"}));
  EXPECT_EQ(limits.restart, (std::vector<std::string>{"spawner.log_dir"}));
  EXPECT_EQ(limits.next.spawner_settings.concurrent_spawn_limit, 2u);
  EXPECT_EQ(limits.next.spawner_settings.log_dir, "a");
}

TEST(ReloadPlan, LogLevelIsLive) {
  auto p = plan("log_level = \"info\"\n" + kProvider, "log_level = \"debug\"\naccess_log = false\n" + kProvider);
  EXPECT_EQ(p.live, (std::vector<std::string>{"log_level", "access_log"}));
  EXPECT_EQ(p.next.log_level, "debug");
}

TEST(ReloadOutcomeJson, RefusedCarriesFileAndLine) {
  ReloadOutcome o;
  o.status = ReloadOutcome::Status::refused;
  o.summary = "not applied";
  o.errors.push_back({"nbhub.toml", 3, "port", "expected an integer", true});
  auto j = outcome_json(o);
  EXPECT_EQ(j.at("result").as_string(), "refused");
  auto const& e = j.at("errors").as_array().at(0).as_object();
  EXPECT_EQ(e.at("file").as_string(), "nbhub.toml");
  EXPECT_EQ(e.at("line").as_int64(), 3);
  EXPECT_EQ(e.at("text").as_string(), "nbhub.toml:3: port: expected an integer");
}

// ---- GET /hub/api/config's body -------------------------------------------------------

TEST(ConfigJson, SourcesOfFileEnvironmentFlagAndDefault) {
  CliInvocation cli;
  cli.port = "8123";
  auto l = load_toml_text("base_url = \"/jh/\"\n[auth]\nallowed_users = [\"alice\"]\n" + kProvider,
                          {{"NBHUB_CULL_TIMEOUT_SECONDS", "120"}}, cli);
  ASSERT_TRUE(l.ok());
  auto j = config_to_json(l.hub, l.provenance);
  auto const& o = j.at("options").as_object();
  auto src = [&](char const* k) { return o.at(k).at("source").as_object(); };
  EXPECT_EQ(src("base_url").at("type").as_string(), "file");
  EXPECT_EQ(src("base_url").at("file").as_string(), "nbhub.toml");
  EXPECT_EQ(src("base_url").at("line").as_int64(), 1);
  EXPECT_EQ(src("auth.allowed_users").at("line").as_int64(), 3);
  EXPECT_EQ(o.at("auth.allowed_users").at("value").as_array().at(0).as_string(), "alice");
  EXPECT_EQ(src("cull.timeout_seconds").at("type").as_string(), "environment");
  EXPECT_EQ(src("cull.timeout_seconds").at("variable").as_string(), "NBHUB_CULL_TIMEOUT_SECONDS");
  EXPECT_EQ(o.at("cull.timeout_seconds").at("value").as_int64(), 120);
  EXPECT_EQ(src("port").at("type").as_string(), "flag");
  EXPECT_EQ(src("port").at("flag").as_string(), "--port");
  EXPECT_EQ(src("http.max_connections").at("type").as_string(), "default");
  auto const& prov = j.at("providers").as_array().at(0).as_object();
  EXPECT_EQ(prov.at("name").as_string(), "idp");
  EXPECT_EQ(prov.at("options").at("client_id").at("source").at("type").as_string(), "file");
}

TEST(ConfigJson, JupyterhubConfigPyValuesNameTheirTraitAndLine) {
  auto l = cfgtest::load_py_text("c = get_config()\nc.Authenticator.allowed_users = {'alice'}\n"
                                 "c.JupyterHub.port = 8123\n");
  ASSERT_TRUE(l.ok()) << cfgtest::errors(l).front();
  auto j = config_to_json(l.hub, l.provenance);
  auto const& src = j.at("options").at("auth.allowed_users").at("source").as_object();
  EXPECT_EQ(src.at("type").as_string(), "file");
  EXPECT_EQ(src.at("file").as_string(), "jupyterhub_config.py");
  EXPECT_EQ(src.at("line").as_int64(), 2);
  EXPECT_EQ(src.at("option").as_string(), "Authenticator.allowed_users");
  EXPECT_EQ(j.at("options").at("port").at("source").at("line").as_int64(), 3);
}

TEST(ConfigJson, SecretsAreRedactedEverywhere) {
  auto l = load_toml_text(R"(db_url = "postgresql://hub:dbpass-123@db.example.org/hub"
services = [{ name = "svc", url = "http://127.0.0.1:9999", api_token = "svc-token-123456" }]
[spawner.environment]
GITHUB_TOKEN = "gh-token-123"
PLAIN = "visible"
[[auth.providers]]
name = "idp"
client_id = "hub"
client_secret = "client-secret-123"
authorize_url = "https://idp.example.org/authorize"
token_url = "https://idp.example.org/token"
[[auth.providers]]
name = "form"
kind = "dummy"
password = "dummy-pass-123"
)");
  ASSERT_TRUE(l.ok()) << cfgtest::errors(l).front();
  auto body = boost::json::serialize(config_to_json(l.hub, l.provenance));
  for (auto secret : {"dbpass-123", "svc-token-123456", "gh-token-123", "client-secret-123", "dummy-pass-123"})
    EXPECT_EQ(body.find(secret), std::string::npos) << secret;
  EXPECT_NE(body.find("visible"), std::string::npos);
  EXPECT_NE(body.find("postgresql://hub:[redacted]@db.example.org/hub"), std::string::npos);
}

TEST(ConfigJson, SecretLikeNames) {
  EXPECT_TRUE(secret_like_name("api_token"));
  EXPECT_TRUE(secret_like_name("OAUTH_CLIENT_SECRET"));
  EXPECT_TRUE(secret_like_name("AWS_SECRET_ACCESS_KEY"));
  EXPECT_TRUE(secret_like_name("password"));
  EXPECT_TRUE(secret_like_name("SSH_PRIVATE_KEY"));
  EXPECT_FALSE(secret_like_name("client_id"));
  EXPECT_FALSE(secret_like_name("oauth_redirect_uri"));
  EXPECT_FALSE(secret_like_name("PATH"));
}

TEST(ConfigJson, UrlPasswordsAreRedacted) {
  EXPECT_EQ(redact_url_password("postgresql://hub:pw@db/hub"), "postgresql://hub:[redacted]@db/hub");
  EXPECT_EQ(redact_url_password("postgresql://hub@db/hub"), "postgresql://hub@db/hub");
  EXPECT_EQ(redact_url_password("https://idp.example.org/a@b"), "https://idp.example.org/a@b");
  EXPECT_EQ(redact_url_password("sqlite:///nbhub.sqlite"), "sqlite:///nbhub.sqlite");
}

}  // namespace
}  // namespace nbhub::config
