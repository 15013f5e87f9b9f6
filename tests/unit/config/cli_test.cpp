// The command line: jupyterhub-compatible flags, --generate-config, and the subcommand slot.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/cli.hpp"
#include "config/generate.hpp"

namespace nbhub::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Action = CliInvocation::Action;

CliInvocation ok(std::vector<std::string> args) {
  auto r = parse_cli(args);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? *r : CliInvocation{};
}

std::string usage(std::vector<std::string> args) {
  auto r = parse_cli(args);
  EXPECT_FALSE(r.has_value());
  return r ? "" : r.error().message;
}

TEST(Cli, NoArgumentsRunsTheHub) {
  auto c = ok({});
  EXPECT_EQ(c.action, Action::run);
  EXPECT_FALSE(c.config_file);
  EXPECT_FALSE(c.port);
}

TEST(Cli, JupyterhubFlags) {
  auto c = ok({"-f", "jupyterhub_config.py", "--ip", "0.0.0.0", "--port=8001", "--db",
               "sqlite:///x.sqlite", "--log-level", "DEBUG", "--debug", "--base-url", "/j/",
               "--ssl-cert", "c.pem", "--ssl-key", "k.pem", "-y"});
  EXPECT_EQ(c.action, Action::run);
  EXPECT_EQ(c.config_file, "jupyterhub_config.py");
  EXPECT_EQ(c.ip, "0.0.0.0");
  EXPECT_EQ(c.port, "8001");
  EXPECT_EQ(c.db_url, "sqlite:///x.sqlite");
  EXPECT_EQ(c.log_level, "DEBUG");
  EXPECT_TRUE(c.debug);
  EXPECT_EQ(c.base_url, "/j/");
  EXPECT_EQ(c.ssl_cert, "c.pem");
  EXPECT_EQ(c.ssl_key, "k.pem");
  EXPECT_TRUE(c.answer_yes);
  EXPECT_EQ(ok({"--config=nbhub.toml"}).config_file, "nbhub.toml");
}

TEST(Cli, Actions) {
  EXPECT_EQ(ok({"--version"}).action, Action::version);
  EXPECT_EQ(ok({"--help"}).action, Action::help);
  EXPECT_EQ(ok({"-h"}).action, Action::help);
  auto g = ok({"--generate-config", "-f", "out.toml"});
  EXPECT_EQ(g.action, Action::generate_config);
  EXPECT_EQ(g.config_file, "out.toml");
  EXPECT_EQ(g.generate_format, "toml");
  EXPECT_EQ(ok({"--generate-config", "--format", "markdown"}).generate_format, "markdown");
}

TEST(Cli, SubcommandsGetTheRestOfTheLineUntouched) {
  auto c = ok({"--debug", "proxy", "--port", "8001", "--api-port=8002", "-f", "x"});
  EXPECT_EQ(c.action, Action::subcommand);
  EXPECT_TRUE(c.debug);
  EXPECT_FALSE(c.port);
  EXPECT_FALSE(c.config_file);
  EXPECT_EQ(c.subcommand, "proxy");
  EXPECT_THAT(c.subcommand_args, ElementsAre("--port", "8001", "--api-port=8002", "-f", "x"));
  auto db = ok({"db", "upgrade"});
  EXPECT_EQ(db.subcommand, "db");
  EXPECT_THAT(db.subcommand_args, ElementsAre("upgrade"));
  std::vector<Subcommand> mine = {{"import", "Convert a jupyterhub_config.py"}};
  auto r = parse_cli(std::vector<std::string>{"import", "a.py"}, mine);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->subcommand, "import");
}

TEST(Cli, UsageErrors) {
  EXPECT_EQ(usage({"--bogus"}), "unknown option --bogus");
  EXPECT_EQ(usage({"--JupyterHub.port=8000"}),
            "unknown option --JupyterHub.port=8000: JupyterHub's --Class.trait=value flags are "
            "not supported; set the option in nbhub.toml or the environment (NBHUB_*)");
  EXPECT_EQ(usage({"prxy"}), "unknown command \"prxy\"; did you mean `proxy`?");
  EXPECT_EQ(usage({"--format", "markdown"}), "--format only applies to --generate-config");
  EXPECT_THAT(usage({"--port"}), HasSubstr("--port"));
  EXPECT_THAT(usage({"--generate-config", "--format", "yaml"}), HasSubstr("yaml"));
  std::ostringstream err;
  EXPECT_EQ(usage_error(Error{Errc::config, "unknown option --bogus"}, err), 2);
  EXPECT_EQ(err.str(), "nbhub: unknown option --bogus\nRun `nbhub --help` for usage.\n");
}

TEST(Cli, HelpAndVersion) {
  std::ostringstream help, version;
  EXPECT_EQ(print_help(help), 0);
  EXPECT_THAT(help.str(), HasSubstr("--generate-config"));
  EXPECT_THAT(help.str(), HasSubstr("-f,--config"));
  EXPECT_THAT(help.str(), HasSubstr("proxy"));
  EXPECT_THAT(help.str(), HasSubstr("built-in defaults < config file < NBHUB_* environment < flags"));
  EXPECT_EQ(print_version(version), 0);
  EXPECT_EQ(version.str(), std::string("nbhub ") + NBHUB_VERSION + "\n");
}

class GenerateConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("nbhub-generate-" + std::to_string(::getpid()) + ".toml"))
                .string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::string read() {
    std::ifstream f(path_);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  std::string path_;
};

TEST_F(GenerateConfig, WritesAndAsksBeforeOverwriting) {
  auto cli = ok({"--generate-config", "-f", path_});
  std::istringstream no("n\n"), yes("y\n"), none("");
  std::ostringstream out, err;
  EXPECT_EQ(generate_config_command(cli, none, out, err), 0);
  EXPECT_EQ(read(), generate_config());

  std::ofstream(path_) << "mine";
  EXPECT_EQ(generate_config_command(cli, no, out, err), 1);
  EXPECT_EQ(read(), "mine");
  EXPECT_EQ(generate_config_command(cli, yes, out, err), 0);
  EXPECT_EQ(read(), generate_config());

  std::ofstream(path_) << "mine";
  auto forced = ok({"--generate-config", "-f", path_, "-y"});
  EXPECT_EQ(generate_config_command(forced, none, out, err), 0);
  EXPECT_EQ(read(), generate_config());
}

TEST_F(GenerateConfig, DashAndMarkdownGoToStandardOutput) {
  std::istringstream in;
  std::ostringstream out, err;
  EXPECT_EQ(generate_config_command(ok({"--generate-config", "-f", "-"}), in, out, err), 0);
  EXPECT_EQ(out.str(), generate_config());
  std::ostringstream md;
  EXPECT_EQ(generate_config_command(ok({"--generate-config", "--format", "markdown"}), in, md, err),
            0);
  EXPECT_EQ(md.str(), generate_markdown());
}

}  // namespace
}  // namespace nbhub::config
