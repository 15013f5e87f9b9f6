// The jupyterhub_config.py reader: Python literals and the statements it accepts, without
// running Python.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/pyconfig_parser.hpp"

namespace nbhub::config::py {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using Env = std::map<std::string, std::string>;

std::vector<std::string> messages(ParseResult const& r) {
  std::vector<std::string> out;
  for (auto const& d : r.diagnostics) out.push_back(d.to_string());
  return out;
}

// The value assigned by the only statement of `source` (c.X.y = <expr>).
Value value_of(std::string const& expr, Env const& env = {}) {
  auto r = parse("import os\nc.X.y = " + expr + "\n", "t.py", env);
  EXPECT_THAT(messages(r), IsEmpty()) << expr;
  EXPECT_EQ(r.assignments.size(), 1u) << expr;
  return r.assignments.empty() ? Value{} : r.assignments[0].value;
}

std::string json_of(std::string const& expr, Env const& env = {}) {
  return to_json(value_of(expr, env));
}

TEST(PyParser, Strings) {
  EXPECT_EQ(value_of("'a'").string, "a");
  EXPECT_EQ(value_of("\"it's\"").string, "it's");
  EXPECT_EQ(value_of("'''x\n'y'\n'''").string, "x\n'y'\n");
  EXPECT_EQ(value_of("r'\\d+\\n'").string, "\\d+\\n");
  EXPECT_EQ(value_of("'a\\tb\\x41\\u00e9\\101'").string, "a\tbA\xc3\xa9" "A");
  EXPECT_EQ(value_of("'a' \"b\" '''c'''").string, "abc");
  EXPECT_EQ(value_of("('https://x'\n   '/y')").string, "https://x/y");
  EXPECT_EQ(value_of("u'x' + b'y'").string, "xy");
}

TEST(PyParser, Numbers) {
  EXPECT_EQ(value_of("8000").integer, 8000);
  EXPECT_EQ(value_of("1_000_000").integer, 1000000);
  EXPECT_EQ(value_of("0x1F").integer, 31);
  EXPECT_EQ(value_of("-3").integer, -3);
  EXPECT_EQ(value_of("60 * 60 * 24").integer, 86400);
  EXPECT_EQ(value_of("7 // 2").integer, 3);
  EXPECT_EQ(value_of("-7 // 2").integer, -4);
  EXPECT_DOUBLE_EQ(value_of("1.5e1").real, 15.0);
  EXPECT_DOUBLE_EQ(value_of("1 / 4").real, 0.25);
}

TEST(PyParser, Containers) {
  EXPECT_EQ(json_of("[1, 'a', True, None, 2.5,]"), R"([1,"a",true,null,2.5E0])");
  EXPECT_EQ(json_of("('a', 'b')"), R"(["a","b"])");
  EXPECT_EQ(json_of("('a',)"), R"(["a"])");
  EXPECT_EQ(json_of("{'x', 'y'}"), R"(["x","y"])");
  EXPECT_EQ(json_of("{}"), "{}");
  EXPECT_EQ(json_of("{'a': {'b': [1, {'c': 'd'}]}, 'e': ()}"), R"({"a":{"b":[1,{"c":"d"}]},"e":[]})");
  EXPECT_EQ(json_of("{'a': 1, 'a': 2}"), R"({"a":2})");
  EXPECT_EQ(json_of("[\n  'a',  # a comment\n\n  'b',\n]"), R"(["a","b"])");
  EXPECT_EQ(json_of("set()"), "[]");
  EXPECT_EQ(json_of("dict(a='b')"), R"({"a":"b"})");
  EXPECT_EQ(json_of("['a'] + ['b']"), R"(["a","b"])");
}

TEST(PyParser, Environment) {
  Env env = {{"HOST", "hub.example.org"}, {"PORT", "8443"}, {"ADMINS", "a, b"}};
  EXPECT_EQ(value_of("os.environ['HOST']", env).string, "hub.example.org");
  EXPECT_EQ(value_of("os.environ.get('HOST')", env).string, "hub.example.org");
  EXPECT_EQ(value_of("os.environ.get('NOPE')", env).kind, Value::Kind::none);
  EXPECT_EQ(value_of("os.environ.get('NOPE', 'dflt')", env).string, "dflt");
  EXPECT_EQ(value_of("os.getenv('NOPE', 5)", env).integer, 5);
  EXPECT_EQ(value_of("int(os.environ.get('PORT', '8000'))", env).integer, 8443);
  EXPECT_EQ(value_of("os.environ.get('NOPE') or 'fallback'", env).string, "fallback");
  EXPECT_EQ(json_of("set(os.environ['ADMINS'].split(','))", env), R"(["a"," b"])");
  EXPECT_EQ(json_of("os.environ['ADMINS'].replace(' ', '').split(',')", env), R"(["a","b"])");
  EXPECT_EQ(value_of("f\"https://{os.environ['HOST']}:{int(os.environ['PORT'])}/hub/\"", env).string,
            "https://hub.example.org:8443/hub/");
  EXPECT_EQ(value_of("f'{{literal}}'", env).string, "{literal}");
}

TEST(PyParser, ImportsVariablesAndConfigStatements) {
  auto r = parse(R"(# comment
"""A docstring."""
import os, sys
import oauthenticator.generic
from oauthenticator.generic import GenericOAuthenticator as Generic
from dockerspawner import (
    DockerSpawner,
)
c = get_config()  # noqa

host = os.environ.get('HOST', 'localhost')
c.JupyterHub.authenticator_class = Generic
c.JupyterHub.spawner_class = DockerSpawner
c.A.direct = oauthenticator.generic.GenericOAuthenticator
c.A.url = 'http://' + host + \
    ':8000'
c.A.d.update({'k': 'v'})
c.A.l.append('x'); c.A.l.extend(['y'])
c.A.s.add('z')
c.A.n += [1]
c.A.cmd = [sys.executable, '-m', 'x']
pass
)",
                 "t.py", {});
  EXPECT_THAT(messages(r),
              ElementsAre("t.py:21: warning: sys.executable is read as \"python3\""));
  ASSERT_EQ(r.assignments.size(), 10u);
  auto const& a = r.assignments;
  EXPECT_EQ(a[0].section, "JupyterHub");
  EXPECT_EQ(a[0].trait, "authenticator_class");
  EXPECT_EQ(a[0].line, 12);
  EXPECT_EQ(a[0].value.kind, Value::Kind::class_ref);
  EXPECT_EQ(a[0].value.string, "oauthenticator.generic.GenericOAuthenticator");
  EXPECT_EQ(a[1].value.string, "dockerspawner.DockerSpawner");
  EXPECT_EQ(a[2].value.string, "oauthenticator.generic.GenericOAuthenticator");
  EXPECT_EQ(a[3].value.string, "http://localhost:8000");
  EXPECT_EQ(a[3].text, "'http://' + host + \\ ':8000'");
  EXPECT_EQ(a[4].op, Assignment::Op::update);
  EXPECT_EQ(a[5].op, Assignment::Op::append);
  EXPECT_EQ(a[6].op, Assignment::Op::extend);
  EXPECT_EQ(a[7].op, Assignment::Op::add);
  EXPECT_EQ(a[8].op, Assignment::Op::iadd);
  EXPECT_EQ(to_json(a[9].value), R"(["python3","-m","x"])");
}

TEST(PyParser, SyntaxErrorsStopReading) {
  EXPECT_THAT(messages(parse("c.JupyterHub.port = (8000\nc.JupyterHub.ip = ''\n", "t.py", {})),
              ElementsAre("t.py:1: syntax error: '(' was never closed"));
  EXPECT_THAT(messages(parse("c.X.y = 'abc\n", "t.py", {})),
              ElementsAre("t.py:1: syntax error: unterminated string literal (detected at line 1)"));
  EXPECT_THAT(messages(parse("c.X.y = '''abc\n\n", "t.py", {})),
              ElementsAre("t.py:1: syntax error: unterminated triple-quoted string literal "
                          "(detected at line 3)"));
  EXPECT_THAT(messages(parse("c.X.y = 1]\n", "t.py", {})),
              ElementsAre("t.py:1: syntax error: unmatched ']'"));
  auto indent = parse("c.X.y = 1\n  c.X.z = 2\n", "t.py", {});
  EXPECT_THAT(messages(indent), ElementsAre("t.py:2: syntax error: unexpected indent"));
  EXPECT_THAT(indent.assignments, IsEmpty());  // Python would run none of it
}

TEST(PyParser, UnreadableStatementsAreErrorsAndReadingGoesOn) {
  auto r = parse(R"(import os
if os.environ.get('DEBUG'):
    c.JupyterHub.log_level = 'DEBUG'
    c.JupyterHub.port = 1
print('hello')
c.Spawner.pre_spawn_hook = my_hook
c.JupyterHub.ip = get_ip()
c.X.y = [x for x in 'ab']
c.X.z['k'] = 1
c.X.w.pop()
c.JupyterHub.port = 8001
def hook(spawner):
    spawner.environment['X'] = '1'
c.Spawner.pre_spawn_hook = hook
)",
                 "t.py", {});
  EXPECT_THAT(
      messages(r),
      ElementsAre(
          "t.py:2: cannot read `if` statements without running Python; the block is skipped: "
          "`if os.environ.get('DEBUG'):`",
          "t.py:5: cannot read this statement without running Python (nbhub reads imports, "
          "`c.Section.trait = value` and simple variables): `print('hello')`",
          "t.py:6: Spawner.pre_spawn_hook: cannot read `my_hook`: name `my_hook` is not defined; "
          "import it first, or give a class as a dotted string",
          "t.py:7: JupyterHub.ip: cannot read `get_ip()`: name `get_ip` is not defined; import it "
          "first, or give a class as a dotted string",
          "t.py:8: X.y: cannot read `[x for x in 'ab']`: comprehensions are not supported",
          "t.py:9: X.z: cannot read `c.X.z['k'] = 1`: item assignment is not supported; assign "
          "the whole value",
          "t.py:10: X.w: cannot read `c.X.w.pop()`: the method .pop() is not supported (only "
          "update, append, extend, add)",
          "t.py:12: cannot read `def` statements without running Python; the block is skipped: "
          "`def hook(spawner):`",
          "t.py:14: Spawner.pre_spawn_hook: cannot read `hook`: `hook` is defined by Python code "
          "(line 12), which nbhub does not run"));
  ASSERT_EQ(r.assignments.size(), 1u);
  EXPECT_EQ(r.assignments[0].value.integer, 8001);
}

TEST(PyParser, IntegerOverflowIsAnError) {
  auto r = parse("c.X.y = 9223372036854775807 + 1\n", "t.py", {});
  EXPECT_THAT(messages(r), ElementsAre("t.py:1: X.y: cannot read `9223372036854775807 + 1`: "
                                       "integer too large"));
}

TEST(PyParser, MissingEnvironmentVariable) {
  auto r = parse("import os\nc.JupyterHub.db_url = os.environ['DB']\n", "t.py", {});
  EXPECT_THAT(messages(r),
              ElementsAre("t.py:2: JupyterHub.db_url: cannot read `os.environ['DB']`: environment "
                          "variable DB is not set (Python would raise KeyError)"));
}

TEST(PyParser, SecretsAreNeverEchoed) {
  Env env = {{"SECRET", "hunter2"}};
  auto r = parse(R"(import os
c.OAuthenticator.client_secret = int(os.environ['SECRET'])
c.OAuthenticator.client_secret = 'abc' + 1
c.OAuthenticator.client_secret = os.environ['MISSING']
client_secret = int(os.environ['SECRET'])
)",
                 "t.py", env);
  EXPECT_THAT(messages(r),
              ElementsAre("t.py:2: OAuthenticator.client_secret: cannot read the value (details "
                          "hidden: a secret)",
                          "t.py:3: OAuthenticator.client_secret: cannot read the value (details "
                          "hidden: a secret)",
                          "t.py:4: OAuthenticator.client_secret: cannot read the value: "
                          "environment variable MISSING is not set (Python would raise KeyError)",
                          "t.py:5: cannot read the assignment to client_secret (details hidden: "
                          "a secret)"));
  for (auto const& m : messages(r)) {
    EXPECT_THAT(m, Not(HasSubstr("hunter2")));
    EXPECT_THAT(m, Not(HasSubstr("abc")));
  }
  EXPECT_TRUE(is_secret_trait("client_secret"));
  EXPECT_TRUE(is_secret_trait("api_tokens"));
  EXPECT_FALSE(is_secret_trait("token_url"));
}

}  // namespace
}  // namespace nbhub::config::py
