// Issue 23: the shared-password provider kind's checks (JupyterHub 5.3's
// SharedPasswordAuthenticator validators), and the JupyterHub 5/6 options read from
// nbhub.toml and jupyterhub_config.py.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "unit/config/config_test_util.hpp"

namespace nbhub::config {
namespace {

using namespace cfgtest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string shared(std::string const& fields, std::string const& auth = "allow_all = true") {
  return "[auth]\n" + auth + "\n[[auth.providers]]\nkind = \"shared-password\"\n" + fields + "\n";
}

TEST(SharedPasswordConfig, GoodPasswordsLoad) {
  auto l = load_toml_text(shared("user_password = \"12345678\"\nadmin_password = \"" + std::string(32, 'a') + "\"",
                                 "admin_users = [\"root\"]"));
  EXPECT_THAT(errors(l), IsEmpty());
  ASSERT_EQ(l.hub.auth.providers.size(), 1u);
  EXPECT_EQ(l.hub.auth.providers[0].user_password.reveal(), "12345678");
}

TEST(SharedPasswordConfig, UserPasswordOfSevenCharactersIsRefused) {
  auto l = load_toml_text(shared("user_password = \"1234567\""));
  EXPECT_THAT(errors(l), ElementsAre(HasSubstr("user_password: must be at least 8 characters long, got 7 characters")));
  EXPECT_THAT(messages(l)[0], ::testing::Not(HasSubstr("1234567\"")));
}

TEST(SharedPasswordConfig, CharactersNotBytesAreCounted) {
  // Eight two-byte characters are eight characters; four are not enough though 8 bytes long.
  EXPECT_THAT(errors(load_toml_text(shared("user_password = \"éééééééé\""))), IsEmpty());
  EXPECT_THAT(errors(load_toml_text(shared("user_password = \"éééé\""))),
              ElementsAre(HasSubstr("got 4 characters")));
}

TEST(SharedPasswordConfig, AdminPasswordRules) {
  auto l = load_toml_text(shared("admin_password = \"" + std::string(31, 'a') + "\"", "admin_users = [\"root\"]"));
  EXPECT_THAT(errors(l), ElementsAre(HasSubstr("admin_password: must be at least 32 characters, not 31")));
  auto same = std::string(40, 'b');
  l = load_toml_text(shared("user_password = \"" + same + "\"\nadmin_password = \"" + same + "\"",
                            "admin_users = [\"root\"]"));
  EXPECT_THAT(errors(l), ElementsAre(HasSubstr("admin_password: cannot be the same as user_password")));
}

TEST(SharedPasswordConfig, WarningsAsUpstreamsCheckAllowConfig) {
  auto l = load_toml_text(shared(""));
  EXPECT_THAT(errors(l), IsEmpty());
  EXPECT_THAT(other_warnings(l), ElementsAre(HasSubstr("nobody will be able to sign in")));
  l = load_toml_text(shared("admin_password = \"" + std::string(32, 'a') + "\""));
  EXPECT_THAT(other_warnings(l), ::testing::Contains(HasSubstr("auth.admin_users is empty")));
  l = load_toml_text(shared("user_password = \"12345678\"", "admin_users = [\"root\"]"));
  EXPECT_THAT(other_warnings(l), ElementsAre(HasSubstr("those users cannot sign in until it is set")));
}

TEST(SharedPasswordConfig, PasswordsOnOtherKindsAreRefused) {
  auto l = load_toml_text("[[auth.providers]]\nkind = \"dummy\"\nadmin_password = \"" + std::string(32, 'a') + "\"\n");
  EXPECT_THAT(errors(l), ElementsAre(HasSubstr("admin_password: is only read by kind = \"shared-password\"")));
  l = load_toml_text(shared("password = \"x\""));
  EXPECT_THAT(errors(l), ElementsAre(HasSubstr("is only read by kind = \"dummy\"")));
}

TEST(SharedPasswordConfig, FromJupyterhubConfigPy) {
  auto l = load_py_text(R"(
from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
c.JupyterHub.authenticator_class = SharedPasswordAuthenticator
c.SharedPasswordAuthenticator.user_password = "workshop-2026"
c.SharedPasswordAuthenticator.admin_password = "an-admin-password-of-32-characters!"
c.SharedPasswordAuthenticator.admin_users = {"teacher"}
c.Authenticator.allow_all = True
)");
  EXPECT_THAT(errors(l), IsEmpty());
  ASSERT_EQ(l.hub.auth.providers.size(), 1u);
  auto const& p = l.hub.auth.providers[0];
  EXPECT_EQ(p.kind, "shared-password");
  EXPECT_EQ(p.user_password.reveal(), "workshop-2026");
  EXPECT_EQ(p.admin_password.reveal(), "an-admin-password-of-32-characters!");
  EXPECT_THAT(l.hub.auth.admin_users, ElementsAre("teacher"));
}

TEST(SharedPasswordConfig, TooShortFromJupyterhubConfigPyNamesTheLine) {
  auto l = load_py_text("c.JupyterHub.authenticator_class = 'shared-password'\n"
                        "c.SharedPasswordAuthenticator.user_password = 'abc'\n");
  EXPECT_THAT(errors(l), ElementsAre(HasSubstr("must be at least 8 characters long, got 3 characters")));
  EXPECT_THAT(errors(l)[0], HasSubstr("jupyterhub_config.py:2"));
}

TEST(Api6Options, TomlNames) {
  auto l = load_toml_text(R"(
token_expires_in_max_seconds = 86400
extra_user_scopes = ["read:users:name", "read:groups!group=class"]
cors_allow_origins = ["https://app.example.org"]
[spawner]
named_server_limit_per_user = 3
allow_existing_invalid_named_servers = "allow-delete"
)" + kProvider);
  EXPECT_THAT(errors(l), IsEmpty());
  EXPECT_EQ(l.hub.token_expires_in_max, std::chrono::seconds(86400));
  EXPECT_THAT(l.hub.extra_user_scopes, ElementsAre("read:users:name", "read:groups!group=class"));
  EXPECT_THAT(l.hub.cors_allow_origins, ElementsAre("https://app.example.org"));
  EXPECT_EQ(l.hub.spawner_settings.named_server_limit_per_user, 3u);
  EXPECT_EQ(l.hub.spawner_settings.allow_existing_invalid_named_servers, "allow-delete");
  EXPECT_EQ(load_toml_text(kProvider).hub.spawner_settings.allow_existing_invalid_named_servers, "allow-start");
  EXPECT_THAT(errors(load_toml_text("[spawner]\nallow_existing_invalid_named_servers = \"rename\"\n" + kProvider)),
              ElementsAre(HasSubstr("spawner.allow_existing_invalid_named_servers")));
}

TEST(Api6Options, JupyterhubConfigPyNames) {
  auto l = load_py_text(R"(
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.token_expires_in_max_seconds = 3600
c.JupyterHub.extra_user_scopes = {"access:services"}
c.JupyterHub.named_server_limit_per_user = 5
c.JupyterHub.allow_existing_invalid_named_servers = "autorename"
c.JupyterHub.tornado_settings = {"headers": {"Access-Control-Allow-Origin": "https://app.example.org"}}
)");
  EXPECT_THAT(errors(l), IsEmpty());
  EXPECT_THAT(other_warnings(l), IsEmpty());
  EXPECT_EQ(l.hub.token_expires_in_max, std::chrono::seconds(3600));
  EXPECT_THAT(l.hub.extra_user_scopes, ElementsAre("access:services"));
  EXPECT_EQ(l.hub.spawner_settings.named_server_limit_per_user, 5u);
  EXPECT_EQ(l.hub.spawner_settings.allow_existing_invalid_named_servers, "autorename");
  EXPECT_THAT(l.hub.cors_allow_origins, ElementsAre("https://app.example.org"));
}

TEST(Api6Options, OtherTornadoSettingsAreNamedInAWarning) {
  auto l = load_py_text(R"(
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 5, "headers": {"X-Frame-Options": "DENY"}}
)");
  EXPECT_THAT(errors(l), IsEmpty());
  EXPECT_THAT(other_warnings(l), ElementsAre(HasSubstr("tornado_settings[\"slow_spawn_timeout\"] is not supported"),
                                             HasSubstr("tornado_settings[\"headers\"][\"X-Frame-Options\"]")));
  EXPECT_THAT(l.hub.cors_allow_origins, IsEmpty());
}

}  // namespace
}  // namespace nbhub::config
