// The option table and what is generated from it: nbhub --generate-config, docs/config.md,
// docs/migrating-from-jupyterhub.md, and the examples in docs/examples/.
//
// When a documentation test fails because the table changed, regenerate the blocks with
//   NBHUB_UPDATE_DOCS=1 ./build/tests/config_test --gtest_filter='ConfigDocs.*'
// and review the diff.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/generate.hpp"
#include "config/options.hpp"
#include "unit/config/config_test_util.hpp"

namespace nbhub::config {
namespace {

using namespace cfgtest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::filesystem::path const kRepo = std::filesystem::path(NBHUB_TEST_DATA) / ".." / "..";

std::string read(std::filesystem::path const& p) {
  std::ifstream f(p, std::ios::binary);
  EXPECT_TRUE(f) << p;
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void expect_generated_blocks_current(std::filesystem::path const& path) {
  auto doc = read(path);
  auto updated = update_generated_blocks(doc);
  if (updated != doc && std::getenv("NBHUB_UPDATE_DOCS")) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << updated;
    return;
  }
  EXPECT_TRUE(doc == updated) << path
                              << " is out of date; run the test with NBHUB_UPDATE_DOCS=1 to "
                                 "regenerate its generated blocks";
}

TEST(ConfigDocs, ConfigMdIsCurrent) {
  auto doc = read(kRepo / "docs/config.md");
  for (auto block : {"options", "environment", "py-classes", "py-traits"})
    EXPECT_THAT(doc, HasSubstr(std::string("<!-- BEGIN GENERATED ") + block + " -->"));
  expect_generated_blocks_current(kRepo / "docs/config.md");
}

TEST(ConfigDocs, MigratingGuideIsCurrent) {
  expect_generated_blocks_current(kRepo / "docs/migrating-from-jupyterhub.md");
}

TEST(OptionTable, NamesAreUniqueAndDocumented) {
  std::set<std::string> keys, envs;
  for (auto const& o : options()) {
    EXPECT_TRUE(keys.insert((o.scope == Scope::provider ? "p:" : "h:") + o.key).second) << o.key;
    EXPECT_TRUE(envs.insert(o.env_name()).second) << o.env_name();
    EXPECT_FALSE(o.doc.empty()) << o.key;
    EXPECT_TRUE(std::regex_match(o.env_name(), std::regex("NBHUB_[A-Z0-9_<>]+"))) << o.key;
    if (o.name().ends_with("_seconds")) {
      EXPECT_EQ(o.type_name(), "integer (seconds)") << o.key;
    }
    if (o.name().ends_with("_bytes")) {
      EXPECT_EQ(o.type_name(), "integer (bytes)") << o.key;
    }
  }
  EXPECT_EQ(find_option(Scope::hub, "port")->env_name(), "NBHUB_PORT");
  EXPECT_EQ(find_option(Scope::hub, "db_url")->env_name(), "NBHUB_DB_URL");
  EXPECT_EQ(find_option(Scope::hub, "http.body_limit_bytes")->env_name(),
            "NBHUB_HTTP_BODY_LIMIT_BYTES");
  EXPECT_EQ(find_option(Scope::provider, "client_secret")->env_name("my-idp"),
            "NBHUB_AUTH_PROVIDER_MY_IDP_CLIENT_SECRET");
}

TEST(GeneratedConfig, LoadsAsTheDefaults) {
  auto text = generate_config();
  auto l = load_toml_text(text);
  EXPECT_TRUE(l.ok());
  EXPECT_THAT(other_warnings(l), IsEmpty());
  EXPECT_THAT(text, HasSubstr("#port = 8000\n"));
  EXPECT_THAT(text, HasSubstr("# Type: port (0-65535). Environment: NBHUB_PORT.\n"));
  EXPECT_THAT(text, HasSubstr("\n[http]\n"));
  EXPECT_THAT(text, HasSubstr("#[[auth.providers]]\n"));
}

// Uncommenting every hub-wide line gives back exactly the defaults, with no unknown keys: the
// generated keys are the keys the loader reads.
TEST(GeneratedConfig, UncommentedKeysAreReadBackAsTheDefaults) {
  auto text = generate_config();
  text = text.substr(0, text.find("#[[auth.providers]]"));
  text = std::regex_replace(text, std::regex("\n#([a-z_]+ = )"), "\n$1");
  auto l = load_toml_text(text);
  EXPECT_TRUE(l.ok()) << ::testing::PrintToString(messages(l));
  EXPECT_THAT(other_warnings(l), IsEmpty());
  HubConfig defaults;
  ProviderConfig unused, unused2;
  for (auto const& o : options()) {
    if (o.scope != Scope::hub) continue;
    auto loaded = l.hub;
    EXPECT_EQ(o.value_toml(loaded, unused), o.value_toml(defaults, unused2)) << o.key;
  }
}

TEST(GeneratedConfig, ProviderKeysAreReadBack) {
  auto text = generate_config();
  text = text.substr(text.find("#[[auth.providers]]"));
  text = std::regex_replace(text, std::regex("(^|\n)#(\\[\\[auth.providers\\]\\]|[a-z_]+ = )"),
                            "$1$2");
  auto l = load_toml_text("[auth]\nallow_all = true\n" + text);
  // Only the required-value checks complain: every key was known.
  EXPECT_THAT(other_warnings(l), IsEmpty());
  EXPECT_THAT(errors(l), ::testing::Each(HasSubstr(": required ")));
}

TEST(GeneratedMarkdown, HasOneTableRowPerOption) {
  auto md = generate_markdown();
  for (auto const& o : options())
    EXPECT_THAT(md, HasSubstr("| `" + o.name() + "` | ")) << o.key;
  EXPECT_THAT(md, HasSubstr("| `port` | port (0-65535) | `8000` | `NBHUB_PORT` |"));
}

// ---- docs/examples ----------------------------------------------------------------------------

Loaded load_example(std::string const& name, Env const& env = {}) {
  CliInvocation cli;
  cli.config_file = (kRepo / "docs/examples" / name).string();
  return load(cli, env);
}

TEST(ConfigExamples, PythonCopiesMatchTheTestedFiles) {
  for (auto name : {"cognito_jupyterhub_config.py", "cognito_docker_jupyterhub_config.py",
                    "cognito_alb_jupyterhub_config.py", "custos_jupyterhub_config.py"})
    EXPECT_EQ(read(kRepo / "docs/examples" / name),
              read(std::filesystem::path(NBHUB_TEST_DATA) / name))
        << name;
}

// The TOML equivalents give the same configuration as importing the Python files (the provider
// is named "default" by the importer and after the IdP in TOML).
void expect_same(Loaded const& toml, Loaded const& py) {
  HubConfig a = toml.hub, b = py.hub;
  ProviderConfig unused1, unused2;
  for (auto const& o : options()) {
    if (o.scope == Scope::hub && o.key != "auth.allowed_users") {
      EXPECT_EQ(o.value_toml(a, unused1), o.value_toml(b, unused2)) << o.key;
    }
  }
  // Python sets keep no order that matters.
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(a.auth.allowed_users), sorted(b.auth.allowed_users));
  ASSERT_EQ(a.auth.providers.size(), 1u);
  ASSERT_EQ(b.auth.providers.size(), 1u);
  for (auto const& o : options()) {
    if (o.scope == Scope::provider && o.key != "name") {
      EXPECT_EQ(o.value_toml(a, a.auth.providers[0]), o.value_toml(b, b.auth.providers[0]))
          << o.key;
    }
  }
}

TEST(ConfigExamples, CognitoLaptop) {
  auto toml = load_example("cognito-laptop.toml");
  EXPECT_TRUE(toml.ok()) << ::testing::PrintToString(messages(toml));
  EXPECT_THAT(warnings(toml), IsEmpty());
  expect_same(toml, load_example("cognito_jupyterhub_config.py"));
}

TEST(ConfigExamples, CognitoAlb) {
  auto toml = load_example("cognito-alb.toml",
                           {{"NBHUB_AUTH_PROVIDER_COGNITO_CLIENT_SECRET", "alb-secret"}});
  EXPECT_TRUE(toml.ok()) << ::testing::PrintToString(messages(toml));
  EXPECT_THAT(warnings(toml), IsEmpty());
  expect_same(toml, load_example("cognito_alb_jupyterhub_config.py",
                                 {{"COGNITO_CLIENT_ID", "1example23456789"},
                                  {"COGNITO_CLIENT_SECRET", "alb-secret"}}));
}

TEST(ConfigExamples, CustosKubernetes) {
  auto toml = load_example("custos-kubernetes.toml",
                           {{"NBHUB_AUTH_PROVIDER_CUSTOS_CLIENT_SECRET", "custos-secret"}});
  EXPECT_TRUE(toml.ok()) << ::testing::PrintToString(messages(toml));
  EXPECT_THAT(warnings(toml), IsEmpty());
  expect_same(toml, load_example("custos_jupyterhub_config.py",
                                 {{"CUSTOS_CLIENT_SECRET", "custos-secret"}}));
  auto without_secret = load_example("custos-kubernetes.toml");
  EXPECT_THAT(errors(without_secret),
              ElementsAre(HasSubstr("auth.providers[0].client_secret: required for kind = "
                                    "\"custos\"")));
}

// Two replicas on two virtual machines (docs/replicas.md): both files load, and they differ
// only in the addresses of their own machine.
TEST(ConfigExamples, TwoReplicasOnVirtualMachines) {
  Env const env{{"NBHUB_AUTH_PROVIDER_SSO_CLIENT_SECRET", "sso-secret"}};
  auto one = load_example("replicas-vm-1.toml", env);
  auto two = load_example("replicas-vm-2.toml", env);
  ASSERT_TRUE(one.ok()) << ::testing::PrintToString(messages(one));
  ASSERT_TRUE(two.ok()) << ::testing::PrintToString(messages(two));
  EXPECT_THAT(warnings(one), IsEmpty());
  EXPECT_THAT(warnings(two), IsEmpty());
  std::set<std::string> const own{"ip", "hub_bind_url", "spawner.ip"};
  std::set<std::string> differ;
  ProviderConfig unused1, unused2;
  for (auto const& o : options())
    if (o.scope == Scope::hub && o.value_toml(one.hub, unused1) != o.value_toml(two.hub, unused2))
      differ.insert(std::string(o.key));
  EXPECT_EQ(differ, own);
  EXPECT_EQ(one.hub.ip, "10.0.0.11");
  EXPECT_EQ(two.hub.ip, "10.0.0.12");
  EXPECT_THAT(one.hub.db_url, ::testing::StartsWith("postgresql://"));
  EXPECT_EQ(one.hub.public_url, "https://hub.example.org/");
  EXPECT_EQ(one.hub.hub_connect_url, "http://10.0.0.10:8081");
}

}  // namespace
}  // namespace nbhub::config
