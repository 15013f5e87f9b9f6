#pragma once
// Reads a jupyterhub_config.py without running Python: a tokenizer and a parser for the subset
// such files use in practice. What it reads:
//
//   comments, blank lines, `\` continuations and line breaks inside brackets, `;`
//   import a.b [as x]            from a.b import C [as D], (E, F)
//   c = get_config()             NAME = <expr>          (a variable usable in later expressions)
//   c.Section.trait = <expr>     c.Section.trait += <expr>
//   c.Section.trait.update(<dict>) / .append(<x>) / .extend(<list>) / .add(<x>)
//
//   <expr>: strings (' " ''' """, r/u/b prefixes, implicit concatenation, f-strings whose
//   fields are expressions of this list), int/float, True/False/None, list/tuple/set/dict
//   literals (nested), os.environ['X'], os.environ.get('X'[, d]), os.getenv('X'[, d]), imported
//   class names and dotted module attributes, int()/str()/float()/bool()/list()/set()/tuple()/
//   dict(), str methods split/strip/lstrip/rstrip/lower/upper/replace, + - * / // on numbers,
//   + on strings and lists, `or`/`and`, sys.executable (read as "python3", with a warning).
//
// Anything else is an error naming file:line and the text (never the text of a secret trait):
// a statement it cannot read is skipped along with its indented block, and reading goes on. A
// syntax error ends reading, as Python would refuse the whole file.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.hpp"
#include "config/value.hpp"

namespace nbhub::config::py {

struct Assignment {
  enum class Op { assign, update, append, extend, add, iadd };
  int line = 0;
  std::string section;  // "JupyterHub" in c.JupyterHub.port
  std::string trait;    // "port"
  Op op = Op::assign;
  Value value;
  std::string text;  // the expression as written ("" for secret traits), for messages
  // Where it came from when several sources are read as one config (z2jh mode:
  // "secret/values.yaml", "hub.extraConfig.00-custos"); "" = the file being imported.
  std::string file;
};

struct ParseResult {
  std::vector<Assignment> assignments;  // in file order
  std::vector<Diagnostic> diagnostics;
  bool syntax_error = false;
};

// `env` answers os.environ / os.getenv. `file` names the source in diagnostics.
ParseResult parse(std::string_view source, std::string const& file,
                  std::map<std::string, std::string> const& env);

// Traits whose values are never echoed in diagnostics (client_secret, cookie_secret, api
// tokens, passwords).
bool is_secret_trait(std::string_view trait);

}  // namespace nbhub::config::py
