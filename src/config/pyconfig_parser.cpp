#include "config/pyconfig_parser.hpp"

#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "config/pyconfig_lexer.hpp"
#include "config/text.hpp"

namespace nbhub::config::py {

namespace {

using Env = std::map<std::string, std::string>;

// Thrown inside one statement and caught at its end: startup code, never the request path.
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

constexpr std::string_view kCompound[] = {"if",   "elif", "else",  "for",   "while", "def",
                                          "class", "with", "try",  "except", "finally",
                                          "async", "match"};
constexpr std::string_view kBuiltins[] = {"int",  "str",   "float", "bool",      "list",
                                          "set",  "tuple", "dict",  "get_config"};

bool truthy(Value const& v) {
  switch (v.kind) {
    case Value::Kind::none: return false;
    case Value::Kind::boolean: return v.boolean;
    case Value::Kind::integer: return v.integer != 0;
    case Value::Kind::real: return v.real != 0;
    case Value::Kind::string: return !v.string.empty();
    case Value::Kind::list: return !v.items.empty();
    case Value::Kind::dict: return !v.entries.empty();
    case Value::Kind::class_ref: return true;
  }
  return false;
}

std::string one_line(std::string_view s, std::size_t max = 100) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() > max) out = out.substr(0, max) + "...";
  return out;
}

class Parser {
 public:
  Parser(std::string_view src, std::vector<Token> toks, std::string const& file, Env const& env,
         ParseResult& out)
      : src_(src), toks_(std::move(toks)), file_(file), env_(env), out_(out) {}

  void run() {
    std::size_t i = 0;
    int skip_deeper_than = -1;  // skipping the block of a compound statement we cannot read
    while (toks_[i].type != Tok::end) {
      if (toks_[i].type == Tok::newline) {
        ++i;
        continue;
      }
      // One statement: up to the end of the logical line or a ';'.
      std::size_t end = i;
      while (toks_[end].type != Tok::newline && toks_[end].type != Tok::end &&
             !(toks_[end].type == Tok::op && toks_[end].text == ";"))
        ++end;
      if (end == i) {  // an empty statement between two ';'
        ++i;
        continue;
      }
      int indent = toks_[i].indent;
      if (indent >= 0) {
        if (skip_deeper_than >= 0 && indent > skip_deeper_than) {
          i = end;
          continue;
        }
        skip_deeper_than = -1;
        if (indent > 0) {
          syntax_error(toks_[i].line, "unexpected indent");
          return;
        }
      }
      begin_ = i;
      i_ = i;
      end_ = end;
      bool compound = statement();
      if (compound && skip_deeper_than < 0) skip_deeper_than = std::max(indent, 0);
      i = end;
      if (toks_[i].type == Tok::op && toks_[i].text == ";") ++i;
    }
  }

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

  // ---- statements -------------------------------------------------------------------------
  // Returns true when the statement opened a block (its indented lines are skipped).
  bool statement() {
    int const line = peek().line;
    auto const& first = peek();
    try {
      if (first.type == Tok::name) {
        for (auto kw : kCompound)
          if (first.text == kw) {
            // Remember what a def or class would have defined, for a clearer message later.
            if ((kw == "def" || kw == "class") && peek(1).type == Tok::name && end_ > i_ + 1)
              python_defs_[peek(1).text] = line;
            error(line, "",
                  fmt::format("cannot read `{}` statements without running Python; the block is "
                              "skipped: `{}`",
                              kw, statement_text()));
            return true;
          }
        if (first.text == "import") return import_stmt(), false;
        if (first.text == "from") return from_stmt(), false;
        if (first.text == "pass") return false;
        if (first.text == "c" && at_op(".", 1)) return config_stmt(), false;
        if (at_op("=", 1)) return variable_stmt(), false;
      }
      if (first.type == Tok::string && end_ - i_ == 1) return false;  // a docstring
    } catch (EvalError const& e) {
      if (first.type == Tok::name && is_secret_trait(first.text))
        error(line, "", fmt::format("cannot read the assignment to {} (details hidden: a secret)",
                                    first.text));
      else
        error(line, "", fmt::format("cannot read `{}`: {}", statement_text(), e.message));
      return false;
    }
    bool opens_block = end_ > begin_ && toks_[end_ - 1].type == Tok::op && toks_[end_ - 1].text == ":";
    error(line, "",
          fmt::format("cannot read this statement without running Python (nbhub reads imports, "
                      "`c.Section.trait = value` and simple variables): `{}`",
                      statement_text()));
    return opens_block;
  }

  std::string dotted_name() {
    std::string name = expect_name();
    while (at_op(".")) {
      ++i_;
      name += "." + expect_name();
    }
    return name;
  }

  void import_stmt() {
    next();  // import
    do {
      std::string module = dotted_name();
      if (at_name("as")) {
        ++i_;
        modules_[expect_name()] = module;
      } else {
        auto root = module.substr(0, module.find('.'));
        modules_[root] = root;
      }
      if (!at_op(",")) break;
      ++i_;
    } while (true);
    if (more()) throw EvalError{"unexpected '" + peek().text + "'"};
  }

  void from_stmt() {
    next();  // from
    if (at_op(".")) throw EvalError{"relative imports are not supported"};
    std::string module = dotted_name();
    if (!at_name("import")) throw EvalError{"expected 'import'"};
    ++i_;
    if (at_op("*")) {
      warn(peek().line, "", fmt::format("`from {} import *` names nothing nbhub can see", module));
      return;
    }
    bool paren = at_op("(");
    if (paren) ++i_;
    do {
      if (paren && at_op(")")) break;
      std::string name = expect_name();
      std::string bound = name;
      if (at_name("as")) {
        ++i_;
        bound = expect_name();
      }
      names_[bound] = module + "." + name;
      if (!at_op(",")) break;
      ++i_;
    } while (true);
    if (paren) expect_op(")");
    if (more()) throw EvalError{"unexpected '" + peek().text + "'"};
  }

  void variable_stmt() {
    std::string name = next().text;
    ++i_;  // =
    if (name == "c") {
      // c = get_config()
      if (at_name("get_config") && at_op("(", 1) && at_op(")", 2) && end_ - i_ == 3) return;
      throw EvalError{"`c` may only be assigned get_config()"};
    }
    variables_[name] = expr_value();
    if (more()) throw EvalError{"unexpected '" + peek().text + "'"};
  }

  void config_stmt() {
    int const line = peek().line;
    next();  // c
    expect_op(".");
    std::string section = expect_name();
    expect_op(".");
    std::string trait = expect_name();
    std::string const option = section + "." + trait;
    bool const secret = is_secret_trait(trait);
    Assignment a;
    a.line = line;
    a.section = section;
    a.trait = trait;
    std::size_t value_start = begin_;  // the whole statement until the value starts
    try {
      if (at_op("=")) {
        ++i_;
        value_start = i_;
        a.op = Assignment::Op::assign;
        a.value = expr_value();
      } else if (at_op("+=")) {
        ++i_;
        value_start = i_;
        a.op = Assignment::Op::iadd;
        a.value = expr_value();
      } else if (at_op(".")) {
        ++i_;
        std::string method = expect_name();
        static const std::map<std::string, Assignment::Op> methods = {
            {"update", Assignment::Op::update},
            {"append", Assignment::Op::append},
            {"extend", Assignment::Op::extend},
            {"add", Assignment::Op::add}};
        auto m = methods.find(method);
        if (m == methods.end())
          throw EvalError{fmt::format("the method .{}() is not supported (only update, append, "
                                      "extend, add)",
                                      method)};
        a.op = m->second;
        expect_op("(");
        value_start = i_;
        a.value = expr_value();
        expect_op(")");
      } else if (at_op("[")) {
        throw EvalError{"item assignment is not supported; assign the whole value"};
      } else {
        throw EvalError{more() ? "expected '=' before '" + peek().text + "'" : "expected '='"};
      }
      if (more()) throw EvalError{"unexpected '" + peek().text + "'"};
    } catch (EvalError const& e) {
      if (secret)
        error(line, option,
              e.shows_value ? "cannot read the value (details hidden: a secret)"
                            : "cannot read the value: " + e.message);
      else
        error(line, option, fmt::format("cannot read `{}`: {}", text_from(value_start), e.message));
      return;
    }
    a.text = secret ? std::string{} : text_from(value_start);
    out_.assignments.push_back(std::move(a));
  }

  // ---- expressions ------------------------------------------------------------------------
  Value expr_value() { return resolve(or_expr()); }

  Operand or_expr() {
    Operand left = and_expr();
    while (at_name("or")) {
      ++i_;
      Value l = resolve(left);
      Operand right = and_expr();
      left = truthy(l) ? Operand{l} : Operand{resolve(right)};
    }
    return left;
  }

  Operand and_expr() {
    Operand left = additive();
    while (at_name("and")) {
      ++i_;
      Value l = resolve(left);
      Operand right = additive();
      left = !truthy(l) ? Operand{l} : Operand{resolve(right)};
    }
    return left;
  }

  static bool number(Value const& v) {
    return v.kind == Value::Kind::integer || v.kind == Value::Kind::real;
  }
  static double as_double(Value const& v) {
    return v.kind == Value::Kind::integer ? static_cast<double>(v.integer) : v.real;
  }

  Operand additive() {
    Operand left = term();
    while (at_op("+") || at_op("-")) {
      std::string op = next().text;
      Value l = resolve(left), r = resolve(term());
      if (op == "+" && l.kind == Value::Kind::string && r.kind == Value::Kind::string) {
        left = Operand{Value::of(l.string + r.string)};
      } else if (op == "+" && l.kind == Value::Kind::list && r.kind == Value::Kind::list) {
        l.items.insert(l.items.end(), r.items.begin(), r.items.end());
        left = Operand{l};
      } else if (number(l) && number(r)) {
        left = arith(op, l, r);
      } else {
        throw EvalError{fmt::format("cannot apply '{}' to {} and {}", op, describe(l, true),
                                    describe(r, true)), true};
      }
    }
    return left;
  }

  Operand term() {
    Operand left = unary();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      std::string op = next().text;
      Value l = resolve(left), r = resolve(unary());
      if (!number(l) || !number(r))
        throw EvalError{fmt::format("cannot apply '{}' to {} and {}", op, describe(l, true),
                                    describe(r, true)), true};
      left = arith(op, l, r);
    }
    return left;
  }

  static Operand arith(std::string const& op, Value const& l, Value const& r) {
    bool ints = l.kind == Value::Kind::integer && r.kind == Value::Kind::integer;
    if ((op == "/" || op == "//" || op == "%") && as_double(r) == 0)
      throw EvalError{"division by zero"};
    if (op == "/") return Operand{Value::of_real(as_double(l) / as_double(r))};
    if (ints) {
      std::int64_t a = l.integer, b = r.integer;
      if (op == "+") return Operand{Value::of(a + b)};
      if (op == "-") return Operand{Value::of(a - b)};
      if (op == "*") return Operand{Value::of(a * b)};
      std::int64_t q = a / b;
      if ((a % b != 0) && ((a < 0) != (b < 0))) --q;  // Python floors
      if (op == "//") return Operand{Value::of(q)};
      return Operand{Value::of(a - q * b)};
    }
    double a = as_double(l), b = as_double(r);
    if (op == "+") return Operand{Value::of_real(a + b)};
    if (op == "-") return Operand{Value::of_real(a - b)};
    if (op == "*") return Operand{Value::of_real(a * b)};
    if (op == "//") return Operand{Value::of_real(std::floor(a / b))};
    return Operand{Value::of_real(a - std::floor(a / b) * b)};
  }

  Operand unary() {
    if (at_op("-") || at_op("+")) {
      bool neg = next().text == "-";
      Value v = resolve(unary());
      if (v.kind == Value::Kind::integer) return Operand{Value::of(neg ? -v.integer : v.integer)};
      if (v.kind == Value::Kind::real) return Operand{Value::of_real(neg ? -v.real : v.real)};
      throw EvalError{"unary minus needs a number"};
    }
    if (at_name("not")) {
      ++i_;
      return Operand{Value::of(!truthy(resolve(unary())))};
    }
    return postfix();
  }

  Operand postfix() {
    Operand o = atom();
    for (;;) {
      if (at_op(".")) {
        ++i_;
        std::string attr = expect_name();
        if (!o.value) {
          o.path += "." + attr;
        } else if (o.value->kind == Value::Kind::string) {
          o = Operand{std::nullopt, "." + attr, o.value};
        } else {
          throw EvalError{fmt::format("cannot read the attribute .{} of {}", attr,
                                      describe(*o.value, true)),
                          true};
        }
      } else if (at_op("(")) {
        ++i_;
        std::vector<Value> args;
        std::vector<std::pair<std::string, Value>> kwargs;
        while (!at_op(")")) {
          if (peek().type == Tok::name && at_op("=", 1)) {
            std::string k = next().text;
            ++i_;
            kwargs.emplace_back(k, expr_value());
          } else {
            if (at_op("*") || at_op("**")) throw EvalError{"argument unpacking is not supported"};
            args.push_back(expr_value());
          }
          if (!at_op(",")) break;
          ++i_;
        }
        expect_op(")");
        o = call(o, std::move(args), std::move(kwargs));
      } else if (at_op("[")) {
        ++i_;
        Value key = expr_value();
        if (at_op(":")) throw EvalError{"slices are not supported"};
        expect_op("]");
        o = subscript(o, key);
      } else {
        return o;
      }
    }
  }

  Operand atom() {
    auto const& t = next();
    switch (t.type) {
      case Tok::number: return Operand{parse_number(t.text)};
      case Tok::string: {
        std::string s = t.fstring ? fstring(t) : t.text;
        while (more() && peek().type == Tok::string) {  // implicit concatenation
          auto const& u = next();
          s += u.fstring ? fstring(u) : u.text;
        }
        return Operand{Value::of(std::move(s))};
      }
      case Tok::name: return name(t.text);
      case Tok::op:
        if (t.text == "(") return Operand{paren()};
        if (t.text == "[") return Operand{list_display("]")};
        if (t.text == "{") return Operand{brace()};
        throw EvalError{fmt::format("unexpected '{}'", t.text)};
      default: throw EvalError{"unexpected end of the statement"};
    }
  }

  static Value parse_number(std::string text) {
    std::string s;
    for (char c : text)
      if (c != '_') s += c;
    if (!s.empty() && (s.back() == 'j' || s.back() == 'J'))
      throw EvalError{"complex numbers are not supported"};
    try {
      std::size_t used = 0;
      if (s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X' || s[1] == 'o' ||
                                           s[1] == 'O' || s[1] == 'b' || s[1] == 'B')) {
        int base = (s[1] == 'x' || s[1] == 'X') ? 16 : (s[1] == 'o' || s[1] == 'O') ? 8 : 2;
        auto v = std::stoll(s.substr(2), &used, base);
        if (used != s.size() - 2) throw EvalError{"invalid number " + text};
        return Value::of(static_cast<std::int64_t>(v));
      }
      if (s.find_first_of(".eE") != std::string::npos) {
        double d = std::stod(s, &used);
        if (used != s.size()) throw EvalError{"invalid number " + text};
        return Value::of_real(d);
      }
      auto v = std::stoll(s, &used, 10);
      if (used != s.size()) throw EvalError{"invalid number " + text};
      return Value::of(static_cast<std::int64_t>(v));
    } catch (std::logic_error const&) {
      throw EvalError{"invalid or too large number " + text};
    }
  }

  Operand name(std::string const& n) {
    if (n == "True") return Operand{Value::of(true)};
    if (n == "False") return Operand{Value::of(false)};
    if (n == "None") return Operand{Value::none()};
    if (auto v = variables_.find(n); v != variables_.end()) return Operand{v->second};
    if (auto c = names_.find(n); c != names_.end()) {
      // `from os import environ` is a reference; anything else imported by name is a class.
      if (c->second.starts_with("os.") || c->second.starts_with("sys."))
        return Operand{std::nullopt, c->second};
      return Operand{Value::class_ref(c->second)};
    }
    if (auto m = modules_.find(n); m != modules_.end()) return Operand{std::nullopt, m->second};
    for (auto b : kBuiltins)
      if (n == b) return Operand{std::nullopt, "builtins." + n};
    if (n == "c") throw EvalError{"reading config values back (c.X.y) is not supported"};
    if (auto d = python_defs_.find(n); d != python_defs_.end())
      throw EvalError{fmt::format("`{}` is defined by Python code (line {}), which nbhub does not "
                                  "run",
                                  n, d->second)};
    throw EvalError{fmt::format("name `{}` is not defined; import it first, or give a class as a "
                                "dotted string",
                                n)};
  }

  // A comprehension or generator ("[x for x in y]"): `for` at this bracket's own depth.
  bool comprehension_ahead() const {
    int depth = 0;
    for (std::size_t k = i_; k < end_; ++k) {
      auto const& t = toks_[k];
      if (t.type == Tok::op && (t.text == "(" || t.text == "[" || t.text == "{")) ++depth;
      if (t.type == Tok::op && (t.text == ")" || t.text == "]" || t.text == "}")) {
        if (depth == 0) return false;
        --depth;
      }
      if (depth == 0 && t.type == Tok::name && t.text == "for") return true;
    }
    return false;
  }

  Value paren() {
    if (comprehension_ahead()) throw EvalError{"generator expressions are not supported"};
    if (at_op(")")) {
      ++i_;
      return Value::list();
    }
    Value first = expr_value();
    if (at_name("for")) throw EvalError{"generator expressions are not supported"};
    if (at_op(")")) {
      ++i_;
      return first;
    }
    Value tuple = Value::list({first});
    while (at_op(",")) {
      ++i_;
      if (at_op(")")) break;
      tuple.items.push_back(expr_value());
    }
    expect_op(")");
    return tuple;
  }

  Value list_display(std::string_view close) {
    if (comprehension_ahead()) throw EvalError{"comprehensions are not supported"};
    Value list = Value::list();
    while (!at_op(close)) {
      if (at_op("*")) throw EvalError{"unpacking (*x) is not supported"};
      list.items.push_back(expr_value());
      if (at_name("for")) throw EvalError{"comprehensions are not supported"};
      if (!at_op(",")) break;
      ++i_;
    }
    expect_op(close);
    return list;
  }

  Value brace() {
    if (comprehension_ahead()) throw EvalError{"comprehensions are not supported"};
    if (at_op("}")) {
      ++i_;
      return Value::dict();
    }
    if (at_op("**")) throw EvalError{"dict unpacking (**x) is not supported"};
    Value first = expr_value();
    if (!at_op(":")) {  // a set
      Value set = Value::list({first});
      if (at_name("for")) throw EvalError{"comprehensions are not supported"};
      while (at_op(",")) {
        ++i_;
        if (at_op("}")) break;
        set.items.push_back(expr_value());
      }
      expect_op("}");
      return set;
    }
    Value dict = Value::dict();
    ++i_;
    dict.entries.emplace_back(first, expr_value());
    if (at_name("for")) throw EvalError{"comprehensions are not supported"};
    while (at_op(",")) {
      ++i_;
      if (at_op("}")) break;
      if (at_op("**")) throw EvalError{"dict unpacking (**x) is not supported"};
      Value k = expr_value();
      expect_op(":");
      dict.entries.emplace_back(k, expr_value());
    }
    expect_op("}");
    // Later duplicate keys replace earlier ones, as in Python.
    Value unique = Value::dict();
    for (auto const& [k, v] : dict.entries) {
      bool replaced = false;
      for (auto& [uk, uv] : unique.entries)
        if (python_str(uk) == python_str(k) && uk.kind == k.kind) {
          uv = v;
          replaced = true;
        }
      if (!replaced) unique.entries.emplace_back(k, v);
    }
    return unique;
  }

  // f"...{expr}...": each field is read with this same parser.
  std::string fstring(Token const& t) {
    std::string out, literal;
    std::string_view body = t.text;
    auto flush = [&] {
      out += t.raw ? literal : decode_escapes(literal);
      literal.clear();
    };
    for (std::size_t k = 0; k < body.size(); ++k) {
      char ch = body[k];
      if (ch == '{' && k + 1 < body.size() && body[k + 1] == '{') {
        literal += '{';
        ++k;
      } else if (ch == '}' && k + 1 < body.size() && body[k + 1] == '}') {
        literal += '}';
        ++k;
      } else if (ch == '{') {
        flush();
        std::size_t depth = 0, j = k + 1;
        char quote = 0;
        for (; j < body.size(); ++j) {
          char d = body[j];
          if (quote) {
            if (d == quote) quote = 0;
          } else if (d == '\'' || d == '"') {
            quote = d;
          } else if (d == '(' || d == '[' || d == '{') {
            ++depth;
          } else if ((d == ')' || d == ']' || d == '}') && depth > 0) {
            --depth;
          } else if (d == '}' || ((d == '!' || d == ':') && depth == 0 &&
                                   !(d == '!' && j + 1 < body.size() && body[j + 1] == '='))) {
            break;
          }
        }
        if (j >= body.size()) throw EvalError{"f-string: expecting '}'"};
        if (body[j] != '}') throw EvalError{"f-string conversions and format specs are not supported"};
        out += python_str(eval_fragment(body.substr(k + 1, j - k - 1)));
        k = j;
      } else if (ch == '}') {
        throw EvalError{"f-string: single '}' is not allowed"};
      } else {
        literal += ch;
      }
    }
    flush();
    return out;
  }

  Value eval_fragment(std::string_view text) {
    auto lexed = lex(text);
    if (lexed.error) throw EvalError{"f-string field: " + lexed.error->message};
    Parser sub(text, std::move(lexed.tokens), file_, env_, out_);
    sub.modules_ = modules_;
    sub.names_ = names_;
    sub.variables_ = variables_;
    sub.begin_ = sub.i_ = 0;
    sub.end_ = sub.toks_.size() - 1;
    if (sub.end_ > 0 && sub.toks_[sub.end_ - 1].type == Tok::newline) --sub.end_;
    Value v = sub.expr_value();
    if (sub.more()) throw EvalError{"f-string field: unexpected '" + sub.peek().text + "'"};
    return v;
  }

  std::optional<std::string> env_get(std::string const& key) const {
    auto it = env_.find(key);
    if (it == env_.end()) return std::nullopt;
    return it->second;
  }

  static std::string need_string(Value const& v, std::string_view what) {
    if (v.kind != Value::Kind::string)
      throw EvalError{fmt::format("{} needs a string, got {}", what, describe(v, true)), true};
    return v.string;
  }

  Operand call(Operand const& f, std::vector<Value> args,
               std::vector<std::pair<std::string, Value>> kwargs) {
    if (f.value) throw EvalError{fmt::format("{} is not callable", describe(*f.value, true)), true};
    auto const& p = f.path;
    auto arity = [&](std::size_t lo, std::size_t hi) {
      if (args.size() < lo || args.size() > hi || !kwargs.empty())
        throw EvalError{fmt::format("{}() takes {} argument{}", p, hi, hi == 1 ? "" : "s")};
    };
    if (p == "os.environ.get" || p == "os.getenv") {
      arity(1, 2);
      auto key = need_string(args[0], p + "()");
      if (auto v = env_get(key)) return Operand{Value::of(*v)};
      return Operand{args.size() > 1 ? args[1] : Value::none()};
    }
    if (p == "builtins.int") {
      arity(1, 1);
      auto const& v = args[0];
      if (v.kind == Value::Kind::integer) return Operand{v};
      if (v.kind == Value::Kind::boolean) return Operand{Value::of(std::int64_t{v.boolean})};
      if (v.kind == Value::Kind::real) return Operand{Value::of(static_cast<std::int64_t>(v.real))};
      if (v.kind == Value::Kind::string) {
        auto s = std::string(trim(v.string));
        std::size_t used = 0;
        try {
          auto i = std::stoll(s, &used, 10);
          if (used == s.size()) return Operand{Value::of(static_cast<std::int64_t>(i))};
        } catch (std::logic_error const&) {
        }
        throw EvalError{"invalid literal for int(): " + dquoted(v.string), true};
      }
      throw EvalError{"int() of " + describe(v, true), true};
    }
    if (p == "builtins.float") {
      arity(1, 1);
      auto const& v = args[0];
      if (v.kind == Value::Kind::real) return Operand{v};
      if (v.kind == Value::Kind::integer) return Operand{Value::of_real(static_cast<double>(v.integer))};
      if (v.kind == Value::Kind::string) {
        try {
          std::size_t used = 0;
          auto s = std::string(trim(v.string));
          double d = std::stod(s, &used);
          if (used == s.size()) return Operand{Value::of_real(d)};
        } catch (std::logic_error const&) {
        }
        throw EvalError{"could not convert string to float: " + dquoted(v.string), true};
      }
      throw EvalError{"float() of " + describe(v, true), true};
    }
    if (p == "builtins.str") {
      arity(0, 1);
      return Operand{Value::of(args.empty() ? std::string{} : python_str(args[0]))};
    }
    if (p == "builtins.bool") {
      arity(0, 1);
      return Operand{Value::of(!args.empty() && truthy(args[0]))};
    }
    if (p == "builtins.list" || p == "builtins.set" || p == "builtins.tuple") {
      arity(0, 1);
      if (args.empty() || args[0].kind == Value::Kind::none) return Operand{Value::list()};
      if (args[0].kind == Value::Kind::list) return Operand{args[0]};
      if (args[0].kind == Value::Kind::dict) {
        Value l = Value::list();
        for (auto const& [k, v] : args[0].entries) l.items.push_back(k);
        return Operand{l};
      }
      throw EvalError{fmt::format("{}() of {} is not supported", p.substr(9), describe(args[0], true)), true};
    }
    if (p == "builtins.dict") {
      if (args.size() > 1) throw EvalError{"dict() takes at most 1 argument"};
      Value d = args.empty() ? Value::dict() : args[0];
      if (d.kind != Value::Kind::dict) throw EvalError{"dict() needs a dict"};
      for (auto& [k, v] : kwargs) d.entries.emplace_back(Value::of(k), v);
      return Operand{d};
    }
    if (p == "builtins.get_config") throw EvalError{"get_config() is only read as `c = get_config()`"};
    if (f.self) return Operand{str_method(p.substr(1), *f.self, args, kwargs)};
    throw EvalError{fmt::format("cannot call {}() without running Python", p)};
  }

  static Value str_method(std::string const& m, Value const& self, std::vector<Value> const& args,
                          std::vector<std::pair<std::string, Value>> const& kwargs) {
    std::string const& s = self.string;
    if (!kwargs.empty()) throw EvalError{"keyword arguments to str." + m + "() are not supported"};
    auto chars = [&](std::size_t at) -> std::optional<std::string> {
      if (args.size() <= at || args[at].kind == Value::Kind::none) return std::nullopt;
      return need_string(args[at], "str." + m + "()");
    };
    if (m == "lower" || m == "upper") {
      std::string out = s;
      for (auto& ch : out)
        ch = static_cast<char>(m == "lower" ? std::tolower(static_cast<unsigned char>(ch))
                                            : std::toupper(static_cast<unsigned char>(ch)));
      return Value::of(out);
    }
    if (m == "strip" || m == "lstrip" || m == "rstrip") {
      auto set = chars(0).value_or(" \t\n\r\f\v");
      std::size_t b = 0, e = s.size();
      if (m != "rstrip")
        while (b < e && set.find(s[b]) != std::string::npos) ++b;
      if (m != "lstrip")
        while (e > b && set.find(s[e - 1]) != std::string::npos) --e;
      return Value::of(s.substr(b, e - b));
    }
    if (m == "split") {
      Value out = Value::list();
      auto sep = chars(0);
      if (!sep) {  // split on runs of whitespace, dropping empty items
        std::string cur;
        for (char ch : s) {
          if (std::isspace(static_cast<unsigned char>(ch))) {
            if (!cur.empty()) out.items.push_back(Value::of(cur));
            cur.clear();
          } else {
            cur += ch;
          }
        }
        if (!cur.empty()) out.items.push_back(Value::of(cur));
        return out;
      }
      if (sep->empty()) throw EvalError{"empty separator"};
      std::size_t start = 0;
      for (;;) {
        auto at = s.find(*sep, start);
        out.items.push_back(Value::of(s.substr(start, at == std::string::npos ? at : at - start)));
        if (at == std::string::npos) break;
        start = at + sep->size();
      }
      return out;
    }
    if (m == "replace") {
      if (args.size() != 2) throw EvalError{"str.replace() takes 2 arguments"};
      auto from = need_string(args[0], "str.replace()"), to = need_string(args[1], "str.replace()");
      if (from.empty()) throw EvalError{"str.replace() with an empty pattern is not supported"};
      std::string out;
      std::size_t start = 0;
      for (auto at = s.find(from); at != std::string::npos; at = s.find(from, start)) {
        out += s.substr(start, at - start) + to;
        start = at + from.size();
      }
      return Value::of(out + s.substr(start));
    }
    throw EvalError{"str." + m + "() is not supported"};
  }

  Operand subscript(Operand const& o, Value const& key) {
    if (!o.value) {
      if (o.path == "os.environ") {
        auto k = need_string(key, "os.environ[...]");
        if (auto v = env_get(k)) return Operand{Value::of(*v)};
        throw EvalError{fmt::format("environment variable {} is not set (Python would raise "
                                    "KeyError)",
                                    k)};
      }
      throw EvalError{"cannot subscript " + o.path};
    }
    auto const& v = *o.value;
    if (v.kind == Value::Kind::dict) {
      for (auto const& [k, val] : v.entries)
        if (k.kind == key.kind && python_str(k) == python_str(key)) return Operand{val};
      throw EvalError{"key " + describe(key, true) + " is not in the dict", true};
    }
    if ((v.kind == Value::Kind::list || v.kind == Value::Kind::string) &&
        key.kind == Value::Kind::integer) {
      auto n = static_cast<std::int64_t>(v.kind == Value::Kind::list ? v.items.size() : v.string.size());
      auto i = key.integer < 0 ? key.integer + n : key.integer;
      if (i < 0 || i >= n) throw EvalError{"index out of range"};
      if (v.kind == Value::Kind::list) return Operand{v.items[static_cast<std::size_t>(i)]};
      return Operand{Value::of(std::string(1, v.string[static_cast<std::size_t>(i)]))};
    }
    throw EvalError{"cannot subscript " + describe(v, true), true};
  }

  Value resolve(Operand const& o) {
    if (o.value) return *o.value;
    if (o.self) throw EvalError{"a method used without calling it"};
    auto root = o.path.substr(0, o.path.find('.'));
    if (o.path == "sys.executable") {
      warn(peek().line, "", "sys.executable is read as \"python3\"");
      return Value::of("python3");
    }
    if (root == "os" || root == "sys" || root == "builtins")
      throw EvalError{fmt::format("cannot use {} as a value", o.path)};
    // An attribute of an imported module: a class such as oauthenticator.generic.GenericOAuthenticator.
    if (o.path.find('.') != std::string::npos) return Value::class_ref(o.path);
    throw EvalError{fmt::format("cannot use the module {} as a value", o.path)};
  }

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

}  // namespace

bool is_secret_trait(std::string_view trait) {
  auto t = to_lower(trait);
  for (auto word : {"secret", "password", "token", "crypt"})
    if (t.find(word) != std::string::npos && t != "token_url" && t != "token_params" &&
        t != "extra_params" && t != "auth_refresh_age")
      return true;
  return false;
}

ParseResult parse(std::string_view source, std::string const& file,
                  std::map<std::string, std::string> const& env) {
  ParseResult out;
  auto lexed = lex(source);
  if (lexed.error) {
    out.diagnostics.push_back(
        {file, lexed.error->line, "", "syntax error: " + lexed.error->message, true});
    out.syntax_error = true;
    return out;
  }
  Parser(source, std::move(lexed.tokens), file, env, out).run();
  if (out.syntax_error) out.assignments.clear();
  return out;
}

}  // namespace nbhub::config::py
