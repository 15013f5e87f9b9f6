// Layers: built-in defaults < config file < environment (NBHUB_*) < flags; OAuthenticator's
// environment variables fill only what no layer set; client secrets from files.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "unit/config/config_test_util.hpp"

namespace nbhub::config {
namespace {

using namespace cfgtest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

CliInvocation flags(std::vector<std::string> args) {
  auto r = parse_cli(args);
  EXPECT_TRUE(r.has_value());
  return r ? *r : CliInvocation{};
}

TEST(Precedence, FileThenEnvironmentThenFlags) {
  std::string const file = "port = 1000\nip = \"10.1.1.1\"\n[http]\nbody_limit_bytes = 10\n";
  EXPECT_EQ(load_toml_text(file).hub.port, 1000);
  EXPECT_EQ(load_toml_text(file, {{"NBHUB_PORT", "2000"}}).hub.port, 2000);
  auto l = load_toml_text(file, {{"NBHUB_PORT", "2000"}, {"NBHUB_HTTP_BODY_LIMIT_BYTES", "20"}},
                          flags({"--port", "3000"}));
  EXPECT_EQ(l.hub.port, 3000);
  EXPECT_EQ(l.hub.ip, "10.1.1.1");  // untouched by the upper layers
  EXPECT_EQ(l.hub.http.body_limit_bytes, 20u);
  EXPECT_EQ(load_toml_text("", {}, flags({"--port=3001"})).hub.port, 3001);
}

TEST(Precedence, EnvironmentValuesAreText) {
  auto l = load_toml_text("", {{"NBHUB_AUTH_ADMIN_USERS", "alice, bob"},
                               {"NBHUB_AUTH_ALLOW_ALL", "yes"},
                               {"NBHUB_SPAWNER_OPTIONS", "DockerSpawner.image=img:1, x=y"},
                               {"NBHUB_HTTP_CLIENT_TLS_VERIFY", "1"},
                               {"NBHUB_DB_URL", "sqlite:///tmp/hub.sqlite"},
                               {"NBHUB_HTTP_IDLE_TIMEOUT_SECONDS", "90"}});
  EXPECT_THAT(errors(l), IsEmpty());
  EXPECT_THAT(l.hub.auth.admin_users, ElementsAre("alice", "bob"));
  EXPECT_TRUE(l.hub.auth.allow_all);
  EXPECT_EQ(l.hub.spawner_options.at("DockerSpawner.image"), "img:1");
  EXPECT_EQ(l.hub.db_url, "sqlite:///tmp/hub.sqlite");
  EXPECT_EQ(l.hub.http.idle_timeout, Seconds(90));
}

TEST(Precedence, BadEnvironmentAndFlagValuesNameTheirSource) {
  auto l = load_toml_text("", {{"NBHUB_PORT", "abc"}}, flags({"--port", "99999", "--db", "x"}));
  EXPECT_THAT(errors(l),
              ElementsAre("environment: NBHUB_PORT: expected an integer from 0 to 65535, got "
                          "\"abc\"",
                          "command line: --port: expected an integer from 0 to 65535, got "
                          "\"99999\"",
                          "command line: --db: expected sqlite:///PATH, sqlite:// or "
                          "postgresql://..., got \"x\""));
}

TEST(Precedence, MisspeltNbhubVariablesWarnOthersAreLeftAlone) {
  auto l = load_toml_text("", {{"NBHUB_PROT", "1"},
                               {"NBHUB_CRYPT_KEY", "k"},
                               {"NBHUB_BIN", "/usr/bin/nbhub"},
                               {"NBHUB_TESTS_DIR", "/t"}});
  EXPECT_THAT(other_warnings(l),
              ElementsAre("environment: warning: NBHUB_PROT: unknown variable, ignored; did you "
                          "mean `NBHUB_PORT`?"));
}

TEST(Precedence, ProviderVariablesAddressProvidersByName) {
  auto l = load_toml_text(R"([[auth.providers]]
name = "my-idp"
client_id = "file"
authorize_url = "https://idp.example.org/a"
token_url = "https://idp.example.org/t"
[[auth.providers]]
name = "my"
kind = "custos"
client_id = "custos-a-1"
)",
                          {{"NBHUB_AUTH_PROVIDER_MY_IDP_CLIENT_ID", "env"},
                           {"NBHUB_AUTH_PROVIDER_MY_IDP_CLIENT_SECRET", "s3cret"},
                           {"NBHUB_AUTH_PROVIDER_MY_CUSTOS_HOST", "custos.scigap.org"},
                           {"NBHUB_AUTH_PROVIDER_MY_CLIENT_SECRET", "c"},
                           {"NBHUB_AUTH_PROVIDER_MY_IDP_CLIENT_SECERT", "x"},
                           {"NBHUB_AUTH_PROVIDER_OTHER_CLIENT_ID", "x"},
                           {"NBHUB_AUTH_ALLOW_ALL", "true"}});
  EXPECT_THAT(errors(l), IsEmpty());
  auto const& p = l.hub.auth.providers;
  EXPECT_EQ(p[0].client_id, "env");
  EXPECT_EQ(p[0].client_secret.reveal(), "s3cret");
  EXPECT_EQ(p[1].custos_host, "custos.scigap.org");
  EXPECT_EQ(p[1].client_secret.reveal(), "c");
  EXPECT_THAT(warnings(l),
              ElementsAre("environment: warning: NBHUB_AUTH_PROVIDER_MY_IDP_CLIENT_SECERT: "
                          "unknown provider option, ignored; did you mean "
                          "`NBHUB_AUTH_PROVIDER_MY_IDP_CLIENT_SECRET`?",
                          "environment: warning: NBHUB_AUTH_PROVIDER_OTHER_CLIENT_ID: names no "
                          "configured provider (configured: my-idp, my), ignored"));
}

TEST(Precedence, OAuthenticatorVariablesFillOnlyWhatIsUnset) {
  Env env = {{"OAUTH_CLIENT_ID", "from-env"},
             {"OAUTH_CLIENT_SECRET", "env-secret"},
             {"OAUTH_CALLBACK_URL", "https://hub.example.org/hub/oauth_callback"},
             {"OAUTH2_AUTHORIZE_URL", "https://idp.example.org/authorize"},
             {"OAUTH2_TOKEN_URL", "https://idp.example.org/token"},
             {"OAUTH2_USERDATA_URL", "https://idp.example.org/userinfo"},
             {"OAUTH2_USERNAME_KEY", "preferred_username"},
             {"OAUTH2_BASIC_AUTH", "1"},
             {"CUSTOS_HOST", "custos.example.org"}};
  auto l = load_toml_text("[auth]\nallow_all = true\n[[auth.providers]]\nclient_id = \"file\"\n",
                          env);
  EXPECT_THAT(errors(l), IsEmpty());
  auto const& p = l.hub.auth.providers.at(0);
  EXPECT_EQ(p.client_id, "file");  // the file wins
  EXPECT_EQ(p.client_secret.reveal(), "env-secret");
  EXPECT_EQ(p.oauth_callback_url, "https://hub.example.org/hub/oauth_callback");
  EXPECT_EQ(p.authorize_url, "https://idp.example.org/authorize");
  EXPECT_EQ(p.token_url, "https://idp.example.org/token");
  EXPECT_EQ(p.userdata_url, "https://idp.example.org/userinfo");
  EXPECT_EQ(p.username_claim, "preferred_username");
  EXPECT_EQ(p.token_auth, TokenAuth::client_secret_basic);
  EXPECT_EQ(p.custos_host, "");  // CUSTOS_HOST is for custos providers only

  auto custos = load_toml_text(
      "[auth]\nallow_all = true\n[[auth.providers]]\nkind = \"custos\"\n"
      "client_id = \"custos-a-1\"\nclient_secret = \"s\"\n",
      {{"CUSTOS_HOST", "custos.example.org"}});
  EXPECT_TRUE(custos.ok());
  EXPECT_EQ(custos.hub.auth.providers.at(0).custos_host, "custos.example.org");

  // An explicit NBHUB_ value is a layer: it beats OAUTH2_USERNAME_KEY even if it equals the
  // default.
  auto explicit_env = load_toml_text(kProvider, {{"OAUTH2_USERNAME_KEY", "email"},
                                                 {"NBHUB_AUTH_PROVIDER_IDP_USERNAME_CLAIM",
                                                  "username"}});
  EXPECT_EQ(explicit_env.hub.auth.providers.at(0).username_claim, "username");
}

TEST(Precedence, OAuthenticatorVariablesAreIgnoredWithSeveralProviders) {
  auto l = load_toml_text(kProvider + "[[auth.providers]]\nname = \"b\"\nkind = \"custos\"\n"
                                      "client_id = \"custos-a-1\"\n",
                          {{"OAUTH_CLIENT_SECRET", "x"}, {"CUSTOS_HOST", "h"}});
  EXPECT_THAT(warnings(l),
              ::testing::Contains("environment: warning: OAUTH_CLIENT_SECRET: ignored: "
                                  "OAUTH_CLIENT_SECRET, CUSTOS_HOST only fill in a single provider, "
                                  "and 2 are configured"));
  EXPECT_TRUE(l.hub.auth.providers.at(1).custos_host.empty());
}

class SecretFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("nbhub-config-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "client-secret").string();
    std::ofstream(path_) << "  from-file-secret\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(SecretFile, IsReadAndTrimmed) {
  auto l = load_toml_text(kProvider + "client_secret_file = \"" + path_ + "\"\n",
                          {{"OAUTH_CLIENT_SECRET", "compat"}});
  EXPECT_THAT(errors(l), IsEmpty());
  EXPECT_EQ(l.hub.auth.providers.at(0).client_secret.reveal(), "from-file-secret");
}

TEST_F(SecretFile, BothInTheFileIsAnError) {
  auto l = load_toml_text(kProvider + "client_secret_file = \"" + path_ +
                          "\"\nclient_secret = \"inline\"\n");
  EXPECT_THAT(errors(l), ElementsAre("nbhub.toml:7: auth.providers[0].client_secret_file: set "
                                     "either client_secret or client_secret_file, not both "
                                     "(client_secret is set at nbhub.toml:8)"));
  for (auto const& m : messages(l)) EXPECT_THAT(m, Not(HasSubstr("inline")));
}

TEST_F(SecretFile, AHigherLayerSecretWins) {
  auto l = load_toml_text(kProvider + "client_secret_file = \"" + path_ + "\"\n",
                          {{"NBHUB_AUTH_PROVIDER_IDP_CLIENT_SECRET", "env"}});
  EXPECT_THAT(errors(l), IsEmpty());
  EXPECT_EQ(l.hub.auth.providers.at(0).client_secret.reveal(), "env");
}

TEST_F(SecretFile, MissingFileIsAnError) {
  auto missing = (dir_ / "nope").string();
  auto l = load_toml_text(kProvider + "client_secret_file = \"" + missing + "\"\n");
  EXPECT_THAT(errors(l),
              ElementsAre("nbhub.toml:7: auth.providers[0].client_secret_file: cannot read \"" +
                          missing + "\": No such file or directory"));
}

TEST(Precedence, LogLevelFlags) {
  EXPECT_EQ(load_toml_text("", {}, flags({"--log-level", "10"})).hub.log_level, "debug");
  EXPECT_EQ(load_toml_text("", {}, flags({"--log-level=WARNING"})).hub.log_level, "warn");
  EXPECT_EQ(load_toml_text("log_level = \"error\"", {}, flags({"--log-level", "INFO", "--debug"}))
                .hub.log_level,
            "debug");
}

TEST(Precedence, BindUrlFlagSetsIpPortAndBaseUrl) {
  auto l = load_toml_text("", {}, flags({"--url", "http://127.0.0.1:8765/hub%20x/"}));
  EXPECT_THAT(errors(l), IsEmpty());
  EXPECT_EQ(l.hub.ip, "127.0.0.1");
  EXPECT_EQ(l.hub.port, 8765);
  EXPECT_EQ(l.hub.base_url, "/hub%20x/");
  auto bad = load_toml_text("", {}, flags({"--url", "nope"}));
  EXPECT_THAT(errors(bad), ElementsAre("command line: --url: expected an http:// or https:// URL "
                                       "such as http://:8000/, got \"nope\""));
}

TEST(Load, DefaultConfigFilePrefersNbhubToml) {
  auto dir = std::filesystem::temp_directory_path() /
             ("nbhub-config-default-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  EXPECT_EQ(default_config_file(dir), std::nullopt);
  std::ofstream(dir / "jupyterhub_config.py") << "c.JupyterHub.port = 8001\n";
  EXPECT_EQ(default_config_file(dir), (dir / "jupyterhub_config.py").string());
  std::ofstream(dir / "nbhub.toml") << "port = 8002\n";
  EXPECT_EQ(default_config_file(dir), (dir / "nbhub.toml").string());

  CliInvocation cli;
  cli.config_file = (dir / "jupyterhub_config.py").string();
  auto l = load(cli, {});
  EXPECT_EQ(l.hub.port, 8001);  // a .py suffix selects the importer
  EXPECT_EQ(l.config_file, *cli.config_file);
  cli.config_file = (dir / "missing.toml").string();
  auto missing = load(cli, {});
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(errors(missing), ElementsAre(*cli.config_file + ": cannot read the config file: No "
                                           "such file or directory"));
  std::filesystem::remove_all(dir);
  EXPECT_EQ(format_for("x/jupyterhub_config.py"), ConfigFormat::jupyterhub_py);
  EXPECT_EQ(format_for("nbhub.toml"), ConfigFormat::toml);
}

}  // namespace
}  // namespace nbhub::config
