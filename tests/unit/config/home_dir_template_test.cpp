// Issue 18 point 5: spawner.home_dir_template and spawner.allow_root_servers from every layer
// (TOML, NBHUB_*, jupyterhub_config.py's SimpleLocalProcessSpawner), and a bad template
// reported with its file and line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/spawner_traits.hpp"
#include "unit/config/config_test_util.hpp"

namespace nbhub::config {
namespace {

using namespace cfgtest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(HomeDirTemplateOption, DefaultsToPrivateHomesUnderDataDir) {
  auto l = load_toml_text("");
  EXPECT_EQ(l.hub.spawner_settings.home_dir_template, "homes/{username}");
  EXPECT_FALSE(l.hub.spawner_settings.allow_root_servers);
}

TEST(HomeDirTemplateOption, ReadFromTomlAndEnvironment) {
  auto l = load_toml_text(
      "[spawner]\nhome_dir_template = \"/srv/homes/{username}\"\nallow_root_servers = true\n");
  EXPECT_THAT(errors(l), IsEmpty());
  EXPECT_EQ(l.hub.spawner_settings.home_dir_template, "/srv/homes/{username}");
  EXPECT_TRUE(l.hub.spawner_settings.allow_root_servers);
  auto e = load_toml_text("", {{"NBHUB_SPAWNER_HOME_DIR_TEMPLATE", "/h/{username}"},
                               {"NBHUB_SPAWNER_ALLOW_ROOT_SERVERS", "true"}});
  EXPECT_THAT(errors(e), IsEmpty());
  EXPECT_EQ(e.hub.spawner_settings.home_dir_template, "/h/{username}");
  EXPECT_TRUE(e.hub.spawner_settings.allow_root_servers);
}

TEST(HomeDirTemplateOption, ReadFromSimpleLocalProcessSpawner) {
  auto l = load_py_text(
      "c.JupyterHub.spawner_class = 'simple'\n"
      "c.SimpleLocalProcessSpawner.home_dir_template = '/tmp/{username}'\n"
      "c.Spawner.notebook_dir = '~/work'\n");
  EXPECT_THAT(errors(l), IsEmpty());
  EXPECT_THAT(other_warnings(l), IsEmpty());
  EXPECT_EQ(l.hub.spawner_settings.home_dir_template, "/tmp/{username}");
  EXPECT_EQ(l.hub.spawner_settings.notebook_dir, "~/work");
  EXPECT_THAT(l.hub.spawner_options, IsEmpty());
  // As in JupyterHub, the trait of a class that is not the spawner_class is not read.
  auto other = load_py_text("c.SimpleLocalProcessSpawner.home_dir_template = '/tmp/{username}'\n");
  EXPECT_EQ(other.hub.spawner_settings.home_dir_template, "homes/{username}");
  EXPECT_THAT(other_warnings(other),
              ElementsAre(HasSubstr("ignored: JupyterHub.spawner_class is LocalProcessSpawner")));
}

TEST(HomeDirTemplateOption, BadTemplateIsAnErrorWithItsLine) {
  auto l = load_toml_text("[spawner]\nhome_dir_template = \"/srv/homes\"\n");
  EXPECT_THAT(errors(l), ElementsAre("nbhub.toml:2: spawner.home_dir_template: \"/srv/homes\": "
                                     "needs {username}, or every user would share one home"));
  auto py = load_py_text(
      "c.JupyterHub.spawner_class = 'simple'\n"
      "c.SimpleLocalProcessSpawner.home_dir_template = '/srv/{servername}'\n");
  EXPECT_THAT(errors(py), ElementsAre(HasSubstr("jupyterhub_config.py:2: ")));
  EXPECT_THAT(errors(py), ElementsAre(HasSubstr("found '{servername}'")));
  // Not used with system users: not checked either.
  auto system = load_toml_text(
      "[spawner]\nrun_as_system_user = true\nhome_dir_template = \"/srv/homes\"\n");
  EXPECT_THAT(errors(system), IsEmpty());
}

TEST(HomeDirTemplateProblem, NamesWhatIsWrong) {
  EXPECT_EQ(home_dir_template_problem("homes/{username}"), "");
  EXPECT_EQ(home_dir_template_problem("/a/{username}/b"), "");
  EXPECT_EQ(home_dir_template_problem("/a/..x/{username}"), "");  // "..x" is a name
  EXPECT_THAT(home_dir_template_problem("/a/../{username}"), HasSubstr("no '..'"));
  EXPECT_THAT(home_dir_template_problem("{username}/.."), HasSubstr("no '..'"));
  EXPECT_THAT(home_dir_template_problem("/{username}/{"), HasSubstr("found '{'"));
  EXPECT_THAT(home_dir_template_problem(""), HasSubstr("empty"));
}

}  // namespace
}  // namespace nbhub::config
