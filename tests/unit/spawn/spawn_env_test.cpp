// The environment builder (spec §1.1/§1.2 order) and the templates; plus /proc/PID/stat parsing.
#include <gtest/gtest.h>
#include <unistd.h>

#include "spawn/proc_stat.hpp"
#include "spawn/spawn_env.hpp"

namespace nbhub::spawn {
namespace {

TemplateVars alice() { return {"alice", "gpu", "/user/alice/gpu/"}; }

TEST(ExpandTemplate, ReplacesKnownNamesOnly) {
  EXPECT_EQ(expand_template("/home/{username}/{servername}", alice()), "/home/alice/gpu");
  EXPECT_EQ(expand_template("{base_url}lab", alice()), "/user/alice/gpu/lab");
  EXPECT_EQ(expand_template("{username}{username}", alice()), "alicealice");
  EXPECT_EQ(expand_template(R"({"SameSite": "{username}"})", alice()),
            R"({"SameSite": "alice"})");
  EXPECT_EQ(expand_template("{other} {username", alice()), "{other} {username");
  EXPECT_EQ(expand_template("", alice()), "");
}

SpawnRequest request() {
  SpawnRequest r;
  r.user = "alice";
  r.service_prefix = "/user/alice/";
  r.env = {{"JUPYTERHUB_API_TOKEN", "t"}, {"JUPYTERHUB_SERVICE_URL", "http://wrong"},
           {"LANG", "from-request"}};
  return r;
}

EnvLookup fake_env() {
  return [](std::string const& name) -> std::optional<std::string> {
    if (name == "PATH") return "/usr/bin";
    if (name == "LANG") return "C";
    if (name == "CONFIGPROXY_AUTH_TOKEN") return "secret";
    return std::nullopt;
  };
}

TEST(BuildEnvironment, AppliesLayersInJupyterHubsOrder) {
  SpawnerConfig cfg;
  cfg.environment = {{"JUPYTERHUB_SERVICE_PREFIX", "/override/"}, {"X", "{username}"}};
  auto env = build_environment(cfg, request(), "http://127.0.0.1:5000/user/alice/", fake_env());
  ASSERT_TRUE(env);
  EXPECT_EQ(env->at("PATH"), "/usr/bin");                 // env_keep
  EXPECT_EQ(env->at("LANG"), "from-request");             // request beats env_keep
  EXPECT_EQ(env->at("JUPYTERHUB_API_TOKEN"), "t");
  EXPECT_EQ(env->at("JUPYTERHUB_SERVICE_URL"), "http://127.0.0.1:5000/user/alice/");  // ours
  EXPECT_EQ(env->at("JUPYTERHUB_SERVICE_PREFIX"), "/override/");  // environment beats all
  EXPECT_EQ(env->at("X"), "alice");
  EXPECT_EQ(env->count("CONFIGPROXY_AUTH_TOKEN"), 0u);  // not in env_keep: never leaks
  EXPECT_EQ(env->count("JUPYTERHUB_ROOT_DIR"), 0u);
  EXPECT_EQ(env->count("JUPYTERHUB_DEFAULT_URL"), 0u);
}

TEST(BuildEnvironment, RejectsNamesExecveCannotCarry) {
  SpawnerConfig cfg;
  cfg.environment = {{"A=B", "1"}};
  auto env = build_environment(cfg, request(), "u", fake_env());
  ASSERT_FALSE(env);
  EXPECT_EQ(env.error().code, Errc::config);
  EXPECT_EQ(env.error().message,
            "spawner.environment: 'A=B' is not a valid environment variable name");
  cfg.environment = {{"A", std::string("x\0y", 3)}};
  EXPECT_FALSE(build_environment(cfg, request(), "u", fake_env()));
}

// Issue 18 point 5: the hub's secrets never reach a server, even when env_keep names them.
TEST(BuildEnvironment, RefusesToKeepTheHubsSecrets) {
  for (auto name : {"NBHUB_CRYPT_KEY", "NBHUB_AUTH_PROVIDER_IDP_CLIENT_SECRET",
                    "JUPYTERHUB_CRYPT_KEY", "JPY_COOKIE_SECRET", "CONFIGPROXY_AUTH_TOKEN",
                    "OAUTH_CLIENT_SECRET", "JUPYTERHUB_COOKIE_SECRET"}) {
    SpawnerConfig cfg;
    cfg.env_keep = {"PATH", name};
    auto env = build_environment(cfg, request(), "u", fake_env());
    ASSERT_FALSE(env) << name;
    EXPECT_EQ(env.error().code, Errc::config);
    EXPECT_EQ(env.error().message,
              std::string("spawner.env_keep: ") + name +
                  " holds the hub's own secrets or settings and is never passed to servers; "
                  "remove it (a value servers need belongs in spawner.environment)");
  }
  EXPECT_TRUE(check_env_keep(SpawnerConfig{}.env_keep));  // the default list is clean
  EXPECT_FALSE(is_hub_secret_variable("JUPYTERHUB_API_TOKEN"));  // the server's own token
}

TEST(ProcStat, ParsesCommandNamesWithSpacesAndParens) {
  auto st = parse_proc_stat(
      "4242 (we ird) (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1 2 3\n");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->pgrp, 4242);
  EXPECT_EQ(st->session, 4242);
  EXPECT_EQ(st->start_ticks, 987654u);
  EXPECT_FALSE(parse_proc_stat("4242 (short) S 1 2"));
  EXPECT_FALSE(parse_proc_stat("garbage"));
}

TEST(ProcStat, ReadsOurOwnProcess) {
  auto st = read_proc_stat(::getpid());
  ASSERT_TRUE(st);
  EXPECT_EQ(st->pgrp, ::getpgrp());
  EXPECT_GT(st->start_ticks, 0u);
  EXPECT_FALSE(read_proc_stat(0));
}

}  // namespace
}  // namespace nbhub::spawn
