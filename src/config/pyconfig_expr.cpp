#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "config/pyconfig_reader.hpp"
#include "config/text.hpp"

namespace nbhub::config::py {

// ---- expressions ------------------------------------------------------------------------
Value Reader::expr_value() { return resolve(or_expr()); }

Operand Reader::or_expr() {
  Operand left = and_expr();
  while (at_name("or")) {
    ++i_;
    Value l = resolve(left);
    Operand right = and_expr();
    left = truthy(l) ? Operand{l} : Operand{resolve(right)};
  }
  return left;
}

Operand Reader::and_expr() {
  Operand left = additive();
  while (at_name("and")) {
    ++i_;
    Value l = resolve(left);
    Operand right = additive();
    left = !truthy(l) ? Operand{l} : Operand{resolve(right)};
  }
  return left;
}

Operand Reader::additive() {
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

Operand Reader::term() {
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

Operand Reader::unary() {
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

Operand Reader::postfix() {
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

Operand Reader::atom() {
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

Operand Reader::name(std::string const& n) {
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
  if (is_builtin_name(n)) return Operand{std::nullopt, "builtins." + n};
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
bool Reader::comprehension_ahead() const {
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

Value Reader::paren() {
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

Value Reader::list_display(std::string_view close) {
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

Value Reader::brace() {
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
std::string Reader::fstring(Token const& t) {
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

Value Reader::eval_fragment(std::string_view text) {
  auto lexed = lex(text);
  if (lexed.error) throw EvalError{"f-string field: " + lexed.error->message};
  Reader sub(text, std::move(lexed.tokens), file_, env_, out_);
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

std::optional<std::string> Reader::env_get(std::string const& key) const {
  auto it = env_.find(key);
  if (it == env_.end()) return std::nullopt;
  return it->second;
}

Operand Reader::call(Operand const& f, std::vector<Value> args, Kwargs kwargs) {
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
  if (p.starts_with("builtins.") && p != "builtins.get_config")
    return Operand{call_builtin(p, args, kwargs)};
  if (p == "builtins.get_config") throw EvalError{"get_config() is only read as `c = get_config()`"};
  if (f.self) return Operand{str_method(p.substr(1), *f.self, args, kwargs)};
  throw EvalError{fmt::format("cannot call {}() without running Python", p)};
}

Operand Reader::subscript(Operand const& o, Value const& key) {
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

Value Reader::resolve(Operand const& o) {
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

}  // namespace nbhub::config::py
