// jupyterhub_config.py evaluated by Python (issue 22): the runtime's JSON read into
// assignments, and real runs with Debian's python3 whose values go through the same tables
// and checks as literal values, every message naming file:line.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/pyconfig.hpp"
#include "config/pyeval.hpp"
#include "unit/config/config_test_util.hpp"

namespace nbhub::config {
namespace {

using namespace cfgtest;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(PyEvalOutput, AssignmentsClassesDictsAndCallables) {
  auto out = pyeval::parse_output(R"({"assignments": [
    {"section": "JupyterHub", "trait": "authenticator_class", "op": "assign", "file": "a.py", "line": 4,
     "value": {"$class": "oauthenticator.generic.GenericOAuthenticator"}},
    {"section": "Spawner", "trait": "environment", "op": "update", "file": "a.py", "line": 6,
     "value": {"A": "b", "N": 1}},
    {"section": "KubeSpawner", "trait": "node_selector", "op": "assign", "file": "a.py", "line": 7,
     "value": {"$dict": [[1, "one"], ["$x", [true, null, 2.5]]]}},
    {"section": "Spawner", "trait": "pre_spawn_hook", "op": "assign", "file": "a.py", "line": 9,
     "value": {"$callable": "hook", "file": "a.py", "line": 8}},
    {"section": "Spawner", "trait": "args", "op": "prepend", "file": "a.py", "line": 10, "value": ["--x"]}
  ]})", "fallback.py");
  ASSERT_FALSE(out.failed);
  EXPECT_THAT(out.diagnostics, IsEmpty());
  ASSERT_EQ(out.assignments.size(), 4u);
  auto const& cls = out.assignments[0];
  EXPECT_EQ(cls.section, "JupyterHub");
  EXPECT_EQ(cls.line, 4);
  EXPECT_EQ(cls.file, "a.py");
  EXPECT_EQ(cls.value.kind, Value::Kind::class_ref);
  EXPECT_EQ(cls.value.string, "oauthenticator.generic.GenericOAuthenticator");
  auto const& env = out.assignments[1];
  EXPECT_EQ(env.op, py::Assignment::Op::update);
  ASSERT_EQ(env.value.entries.size(), 2u);
  EXPECT_EQ(env.value.entries[1].second.integer, 1);
  auto const& sel = out.assignments[2];
  ASSERT_EQ(sel.value.kind, Value::Kind::dict);
  EXPECT_EQ(sel.value.entries[0].first.kind, Value::Kind::integer);
  EXPECT_EQ(sel.value.entries[1].first.string, "$x");
  EXPECT_EQ(sel.value.entries[1].second.items[2].real, 2.5);
  EXPECT_EQ(out.assignments[3].op, py::Assignment::Op::extend);
  ASSERT_EQ(out.callables.size(), 1u);
  EXPECT_EQ(out.callables[0].trait, "pre_spawn_hook");
  EXPECT_EQ(out.callables[0].name, "hook");
  EXPECT_EQ(out.callables[0].line, 9);
}

TEST(PyEvalOutput, ErrorsNameFileAndLine) {
  auto out = pyeval::parse_output(
      R"({"error": {"file": "jupyterhub_config.py", "line": 3, "message": "KeyError: 'nope'"}})", "x.py");
  EXPECT_TRUE(out.failed);
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].to_string(), "jupyterhub_config.py:3: KeyError: 'nope'");

  auto garbage = pyeval::parse_output("Traceback (most recent call last):", "x.py");
  EXPECT_TRUE(garbage.failed);
  EXPECT_THAT(garbage.diagnostics[0].to_string(), HasSubstr("not a JSON object"));

  auto unsupported = pyeval::parse_output(R"({"assignments": [
    {"section": "Spawner", "trait": "x", "op": "assign", "file": "a.py", "line": 2, "value": null,
     "unsupported": "a socket (<socket>) is not a value nbhub can read"},
    {"section": "Spawner", "trait": "y", "op": "assign", "file": "a.py", "line": 3,
     "value": [{"$callable": "f", "file": "a.py", "line": 1}]},
    {"section": "JupyterHub", "trait": "authenticator_class", "op": "assign", "file": "a.py", "line": 5,
     "value": {"$class": "oauthenticator.generic.GenericOAuthenticator", "subclass": "Mine",
               "methods": ["authenticate", "check_allowed"]}}
  ]})", "x.py");
  EXPECT_FALSE(unsupported.failed);
  ASSERT_EQ(unsupported.diagnostics.size(), 3u);
  EXPECT_EQ(unsupported.diagnostics[0].to_string(),
            "a.py:2: Spawner.x: a socket (<socket>) is not a value nbhub can read");
  EXPECT_EQ(unsupported.diagnostics[1].to_string(),
            "a.py:3: Spawner.y: a function (f) inside a value is not supported");
  EXPECT_THAT(unsupported.diagnostics[2].to_string(),
              HasSubstr("a.py:5: warning: JupyterHub.authenticator_class: Mine is a subclass of "
                        "oauthenticator.generic.GenericOAuthenticator: nbhub provides "
                        "oauthenticator.generic.GenericOAuthenticator's behaviour and runs its check_allowed and "
                        "check_blocked_users, and these methods Mine defines are not run: authenticate"));
  EXPECT_EQ(unsupported.assignments.size(), 1u);
  // check_allowed runs in the hook helper.
  ASSERT_EQ(unsupported.callables.size(), 1u);
  EXPECT_EQ(unsupported.callables[0].section + "." + unsupported.callables[0].trait, "Authenticator.check_allowed");
  EXPECT_EQ(unsupported.callables[0].line, 5);
}

TEST(PyEvalOutput, FindExecutable) {
  EXPECT_EQ(pyeval::find_executable("sh", "/nonexistent:/bin"), std::optional<std::string>("/bin/sh"));
  EXPECT_EQ(pyeval::find_executable("sh", ""), std::nullopt);
  EXPECT_EQ(pyeval::find_executable("no-such-python-here", "/bin:/usr/bin"), std::nullopt);
}

// ---- with Debian's python3 ---------------------------------------------------------------

bool have_python() { return ::access("/usr/bin/python3", X_OK) == 0; }
Env python_env(Env extra = {}) {
  extra["PATH"] = "/usr/bin:/bin";
  return extra;
}

TEST(PyEvalRun, LoopsAndConditionsGoThroughTheTables) {
  if (!have_python()) GTEST_SKIP() << "no /usr/bin/python3";
  auto l = load_py_text(R"(import os
from kubespawner import KubeSpawner
c.JupyterHub.spawner_class = KubeSpawner
profiles = []
for size, cpu in [("small", 1), ("large", 4)]:
    profiles.append({"display_name": size.title(), "kubespawner_override": {"cpu_limit": cpu}})
c.KubeSpawner.profile_list = profiles
if os.environ.get("BIG_HUB"):
    c.JupyterHub.port = 80
else:
    c.JupyterHub.port = 8001
c.Spawner.environment.update({"A": "b"})
c.Authenticator.allowed_users = {"ann"}
c.Authenticator.allowed_users.add("bob")
c.JupyterHub.prot = 1
)",
                        python_env());
  EXPECT_THAT(errors(l), IsEmpty());
  EXPECT_EQ(l.hub.port, 8001);
  EXPECT_EQ(l.hub.spawner, "kubernetes");
  EXPECT_EQ(l.hub.spawner_options.at("KubeSpawner.profile_list"),
            R"([{"display_name":"Small","kubespawner_override":{"cpu_limit":1}},)"
            R"({"display_name":"Large","kubespawner_override":{"cpu_limit":4}}])");
  EXPECT_EQ(l.hub.spawner_settings.environment.at("A"), "b");
  EXPECT_THAT(l.hub.auth.allowed_users, ElementsAre("ann", "bob"));
  // The in-place .add() on line 14 is where allowed_users last changed.
  EXPECT_THAT(warnings(l), Contains(HasSubstr("jupyterhub_config.py:15: warning: JupyterHub.prot: unknown "
                                              "trait of JupyterHub, ignored; did you mean `JupyterHub.port`?")));
  EXPECT_FALSE(l.hub.python.evaluated_file.empty());
  EXPECT_THAT(l.hub.python.hooks, IsEmpty());

  auto big = load_py_text("import os\nif os.environ.get('BIG_HUB'):\n    c.JupyterHub.port = 80\n", python_env({{"BIG_HUB", "1"}}));
  EXPECT_EQ(big.hub.port, 80);
}

TEST(PyEvalRun, BadValuesAndExceptionsNameTheLine) {
  if (!have_python()) GTEST_SKIP() << "no /usr/bin/python3";
  auto bad = load_py_text("ports = {'a': 'eighty'}\nfor k in ports:\n    c.JupyterHub.port = ports[k]\n", python_env());
  EXPECT_THAT(errors(bad), ElementsAre(HasSubstr("jupyterhub_config.py:3: JupyterHub.port:")));

  auto raised = load_py_text("c.JupyterHub.port = 8000\nx = {}\ny = x['nope']\n", python_env());
  EXPECT_FALSE(raised.ok());
  EXPECT_THAT(errors(raised), ElementsAre("jupyterhub_config.py:3: KeyError: 'nope'"));

  auto syntax = load_py_text("c.JupyterHub.port = (\n", python_env({{"NBHUB_CONFIG_PYTHON", "always"}}));
  EXPECT_THAT(errors(syntax), ElementsAre(HasSubstr("jupyterhub_config.py:1: SyntaxError:")));
}

TEST(PyEvalRun, HooksAreRecordedAndOtherCallablesRefused) {
  if (!have_python()) GTEST_SKIP() << "no /usr/bin/python3";
  auto l = load_py_text(R"(
def hook(spawner):
    spawner.environment["X"] = "1"
async def state_hook(spawner, auth_state):
    pass
c.Spawner.pre_spawn_hook = hook
c.Spawner.auth_state_hook = state_hook
from oauthenticator.generic import GenericOAuthenticator
c.JupyterHub.authenticator_class = GenericOAuthenticator
c.GenericOAuthenticator.username_claim = lambda info: info["sub"]
c.Authenticator.post_auth_hook = hook
c.Spawner.profile_list = lambda spawner: []
c.JupyterHub.named_server_limit_per_user = lambda handler: 2
c.Spawner.cmd = lambda spawner: ["jupyterhub-singleuser"]
)",
                        python_env());
  EXPECT_THAT(l.hub.python.hooks, UnorderedElementsAre("Spawner.pre_spawn_hook", "Spawner.auth_state_hook",
                                                       "Spawner.profile_list", "GenericOAuthenticator.username_claim",
                                                       "Authenticator.post_auth_hook",
                                                       "JupyterHub.named_server_limit_per_user"));
  EXPECT_THAT(l.hub.python.spawner_sections, ElementsAre("Spawner", "LocalProcessSpawner"));
  EXPECT_THAT(l.hub.python.authenticator_sections,
              ElementsAre("Authenticator", "OAuthenticator", "GenericOAuthenticator"));
  EXPECT_THAT(l.hub.python.helper_context, HasSubstr("state_hook"));
  EXPECT_THAT(errors(l), Contains(HasSubstr("jupyterhub_config.py:14: Spawner.cmd: "
                                            "a function (<lambda>) is not supported for this trait yet")));
}

TEST(PyEvalRun, ModesAndMissingPython) {
  std::string const text = "def f(s):\n    pass\nc.Spawner.pre_spawn_hook = f\nc.JupyterHub.port = 8002\n";
  // never: the literal reader names the lines it cannot read.
  auto never = load_py_text(text, python_env({{"NBHUB_CONFIG_PYTHON", "never"}}));
  EXPECT_FALSE(never.ok());
  EXPECT_THAT(errors(never), Contains(HasSubstr("jupyterhub_config.py:3:")));
  EXPECT_EQ(never.hub.port, 8002);
  // No python3 in PATH: the same, with a warning that says why.
  auto nopy = load_py_text(text, {{"PATH", "/nonexistent"}});
  EXPECT_THAT(warnings(nopy), Contains(HasSubstr("python3 was not found in PATH")));
  EXPECT_FALSE(nopy.ok());
  auto always = load_py_text("c.JupyterHub.port = 8003\n", {{"PATH", "/nonexistent"}, {"NBHUB_CONFIG_PYTHON", "always"}});
  EXPECT_THAT(errors(always), ElementsAre(HasSubstr("config_python is \"always\" but python3 was not found")));
  if (!have_python()) return;
  // auto: a file the literal reader reads whole is not run by Python.
  auto literal = load_py_text("c.JupyterHub.port = 8004\n", python_env());
  EXPECT_EQ(literal.hub.port, 8004);
  EXPECT_TRUE(literal.hub.python.evaluated_file.empty());
  auto forced = load_py_text("c.JupyterHub.port = 8004\n", python_env({{"NBHUB_CONFIG_PYTHON", "always"}}));
  EXPECT_EQ(forced.hub.port, 8004);
  EXPECT_FALSE(forced.hub.python.evaluated_file.empty());
}

TEST(PyEvalRun, BoundedByTimeoutAndOutputSize) {
  if (!have_python()) GTEST_SKIP() << "no /usr/bin/python3";
  auto slow = load_py_text("import time\ntime.sleep(30)\n",
                           python_env({{"NBHUB_PYTHON_EVAL_TIMEOUT_SECONDS", "1"}}));
  EXPECT_THAT(errors(slow), ElementsAre(HasSubstr("did not finish within 1 s")));
  auto big = load_py_text("c.Spawner.environment = {str(i): 'x' * 100 for i in range(1000)}\n",
                          python_env({{"NBHUB_PYTHON_MAX_OUTPUT_BYTES", "10000"}}));
  EXPECT_THAT(errors(big), ElementsAre(HasSubstr("more than 10000 bytes")));
}

}  // namespace
}  // namespace nbhub::config
