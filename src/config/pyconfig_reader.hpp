#pragma once
// Internals of the jupyterhub_config.py reader (config/pyconfig_parser.hpp): the Reader class,
// whose statement methods live in pyconfig_parser.cpp and expression methods in
// pyconfig_expr.cpp, and the Python builtins it evaluates (pyconfig_builtins.cpp).
// Errors inside one statement are thrown as EvalError and caught at the statement's end: this
// is startup code, never the request path (STYLE.md §4).
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/pyconfig_lexer.hpp"
#include "config/pyconfig_parser.hpp"

namespace nbhub::config::py {

using Env = std::map<std::string, std::string>;
using Kwargs = std::vector<std::pair<std::string, Value>>;

struct EvalError {
  std::string message;
  bool shows_value = false;  // the message quotes a value: hidden for secret traits
};

// A value, or a reference that is not one yet (a module, os.environ, a builtin, a str method).
struct Operand {
  std::optional<Value> value;
  std::string path;           // "os.environ.get", "builtins.int", "oauthenticator.generic"
  std::optional<Value> self;  // the string a method (path ".split") is bound to
};

// ---- builtins (pyconfig_builtins.cpp); each throws EvalError ---------------------------------
bool truthy(Value const& v);
bool number(Value const& v);
double as_double(Value const& v);
Operand arith(std::string const& op, Value const& l, Value const& r);  // + - * / // % on numbers
Value parse_number(std::string text);
std::string need_string(Value const& v, std::string_view what);
// int() str() float() bool() list() set() tuple() dict(); `path` is "builtins.int" etc.
Value call_builtin(std::string const& path, std::vector<Value> const& args, Kwargs const& kwargs);
Value str_method(std::string const& m, Value const& self, std::vector<Value> const& args,
                 Kwargs const& kwargs);
bool is_builtin_name(std::string_view name);

// The whole statement or expression as one line of text for messages, cut to `max`.
std::string one_line(std::string_view s, std::size_t max = 100);

class Reader {
 public:
  Reader(std::string_view src, std::vector<Token> toks, std::string const& file, Env const& env,
         ParseResult& out)
      : src_(src), toks_(std::move(toks)), file_(file), env_(env), out_(out) {}

  void run();  // every statement; results and diagnostics go to `out`

 private:
  // ---- token access within the current statement [i_, end_) ----------------------------
  Token const& peek(std::size_t k = 0) const {
    return i_ + k < end_ ? toks_[i_ + k] : toks_[end_];
  }
  bool more() const { return i_ < end_; }
  bool at_op(std::string_view op, std::size_t k = 0) const {
    return i_ + k < end_ && peek(k).type == Tok::op && peek(k).text == op;
  }
  bool at_name(std::string_view n, std::size_t k = 0) const {
    return i_ + k < end_ && peek(k).type == Tok::name && peek(k).text == n;
  }
  Token const& next() {
    if (!more()) throw EvalError{"unexpected end of the statement"};
    return toks_[i_++];
  }
  void expect_op(std::string_view op) {
    if (!at_op(op))
      throw EvalError{more() ? fmt::format("expected '{}' before '{}'", op, peek().text)
                             : fmt::format("expected '{}'", op)};
    ++i_;
  }
  std::string expect_name() {
    if (!more() || peek().type != Tok::name)
      throw EvalError{more() ? fmt::format("expected a name before '{}'", peek().text)
                             : "expected a name"};
    return toks_[i_++].text;
  }
  std::string statement_text() const {
    if (begin_ >= end_) return {};
    return one_line(src_.substr(toks_[begin_].begin, toks_[end_ - 1].end - toks_[begin_].begin));
  }
  std::string text_from(std::size_t first) const {
    if (first >= end_) return {};
    return one_line(src_.substr(toks_[first].begin, toks_[end_ - 1].end - toks_[first].begin));
  }

  // ---- diagnostics ------------------------------------------------------------------------
  void error(int line, std::string option, std::string message) {
    out_.diagnostics.push_back({file_, line, std::move(option), std::move(message), true});
  }
  void warn(int line, std::string option, std::string message) {
    out_.diagnostics.push_back({file_, line, std::move(option), std::move(message), false});
  }
  void syntax_error(int line, std::string message) {
    error(line, "", "syntax error: " + message);
    out_.syntax_error = true;
  }
  // ---- statements (pyconfig_parser.cpp) -----------------------------------------------------
  bool statement();  // true when the statement opened a block (its indented lines are skipped)
  std::string dotted_name();
  void import_stmt();
  void from_stmt();
  void variable_stmt();
  void config_stmt();

  // ---- expressions (pyconfig_expr.cpp) ------------------------------------------------------
  Value expr_value();
  Operand or_expr();
  Operand and_expr();
  Operand additive();
  Operand term();
  Operand unary();
  Operand postfix();
  Operand atom();
  Operand name(std::string const& n);
  bool comprehension_ahead() const;
  Value paren();
  Value list_display(std::string_view close);
  Value brace();
  std::string fstring(Token const& t);
  Value eval_fragment(std::string_view text);
  std::optional<std::string> env_get(std::string const& key) const;
  Operand call(Operand const& f, std::vector<Value> args, Kwargs kwargs);
  Operand subscript(Operand const& o, Value const& key);
  Value resolve(Operand const& o);

  std::string_view src_;
  std::vector<Token> toks_;
  std::string const& file_;
  Env const& env_;
  ParseResult& out_;
  std::size_t begin_ = 0, i_ = 0, end_ = 0;
  std::map<std::string, std::string> modules_;  // bound name -> module path
  std::map<std::string, std::string> names_;    // from-imported name -> dotted path
  std::map<std::string, Value> variables_;
  std::map<std::string, int> python_defs_;  // def/class names -> line
};

}  // namespace nbhub::config::py
