#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "config/pyconfig_reader.hpp"
#include "config/text.hpp"

namespace nbhub::config::py {

namespace {
constexpr std::string_view kBuiltins[] = {"int",  "str",   "float", "bool",      "list",
                                          "set",  "tuple", "dict",  "get_config"};
}  // namespace

bool is_builtin_name(std::string_view name) {
  for (auto b : kBuiltins)
    if (name == b) return true;
  return false;
}

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

bool number(Value const& v) {
  return v.kind == Value::Kind::integer || v.kind == Value::Kind::real;
}

double as_double(Value const& v) {
  return v.kind == Value::Kind::integer ? static_cast<double>(v.integer) : v.real;
}

Operand arith(std::string const& op, Value const& l, Value const& r) {
  bool ints = l.kind == Value::Kind::integer && r.kind == Value::Kind::integer;
  if ((op == "/" || op == "//" || op == "%") && as_double(r) == 0)
    throw EvalError{"division by zero"};
  if (op == "/") return Operand{Value::of_real(as_double(l) / as_double(r))};
  if (ints) {
    std::int64_t a = l.integer, b = r.integer;
    std::int64_t out = 0;
    bool overflow = false;
    if (op == "+") overflow = __builtin_add_overflow(a, b, &out);
    if (op == "-") overflow = __builtin_sub_overflow(a, b, &out);
    if (op == "*") overflow = __builtin_mul_overflow(a, b, &out);
    if (overflow) throw EvalError{"integer too large"};
    if (op == "+" || op == "-" || op == "*") return Operand{Value::of(out)};
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

Value parse_number(std::string text) {
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

std::string need_string(Value const& v, std::string_view what) {
  if (v.kind != Value::Kind::string)
    throw EvalError{fmt::format("{} needs a string, got {}", what, describe(v, true)), true};
  return v.string;
}

Value str_method(std::string const& m, Value const& self, std::vector<Value> const& args,
                 Kwargs const& kwargs) {
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

Value call_builtin(std::string const& p, std::vector<Value> const& args, Kwargs const& kwargs) {
  auto arity = [&](std::size_t lo, std::size_t hi) {
    if (args.size() < lo || args.size() > hi || !kwargs.empty())
      throw EvalError{fmt::format("{}() takes {} argument{}", p.substr(9), hi, hi == 1 ? "" : "s")};
  };
  if (p == "builtins.int") {
    arity(1, 1);
    auto const& v = args[0];
    if (v.kind == Value::Kind::integer) return v;
    if (v.kind == Value::Kind::boolean) return Value::of(std::int64_t{v.boolean});
    if (v.kind == Value::Kind::real) return Value::of(static_cast<std::int64_t>(v.real));
    if (v.kind == Value::Kind::string) {
      auto s = std::string(trim(v.string));
      std::size_t used = 0;
      try {
        auto i = std::stoll(s, &used, 10);
        if (used == s.size()) return Value::of(static_cast<std::int64_t>(i));
      } catch (std::logic_error const&) {
      }
      throw EvalError{"invalid literal for int(): " + dquoted(v.string), true};
    }
    throw EvalError{"int() of " + describe(v, true), true};
  }
  if (p == "builtins.float") {
    arity(1, 1);
    auto const& v = args[0];
    if (v.kind == Value::Kind::real) return v;
    if (v.kind == Value::Kind::integer) return Value::of_real(static_cast<double>(v.integer));
    if (v.kind == Value::Kind::string) {
      try {
        std::size_t used = 0;
        auto s = std::string(trim(v.string));
        double d = std::stod(s, &used);
        if (used == s.size()) return Value::of_real(d);
      } catch (std::logic_error const&) {
      }
      throw EvalError{"could not convert string to float: " + dquoted(v.string), true};
    }
    throw EvalError{"float() of " + describe(v, true), true};
  }
  if (p == "builtins.str") {
    arity(0, 1);
    return Value::of(args.empty() ? std::string{} : python_str(args[0]));
  }
  if (p == "builtins.bool") {
    arity(0, 1);
    return Value::of(!args.empty() && truthy(args[0]));
  }
  if (p == "builtins.list" || p == "builtins.set" || p == "builtins.tuple") {
    arity(0, 1);
    if (args.empty() || args[0].kind == Value::Kind::none) return Value::list();
    if (args[0].kind == Value::Kind::list) return args[0];
    if (args[0].kind == Value::Kind::dict) {
      Value l = Value::list();
      for (auto const& [k, v] : args[0].entries) l.items.push_back(k);
      return l;
    }
    throw EvalError{fmt::format("{}() of {} is not supported", p.substr(9), describe(args[0], true)), true};
  }
  if (p == "builtins.dict") {
    if (args.size() > 1) throw EvalError{"dict() takes at most 1 argument"};
    Value d = args.empty() ? Value::dict() : args[0];
    if (d.kind != Value::Kind::dict) throw EvalError{"dict() needs a dict"};
    for (auto& [k, v] : kwargs) d.entries.emplace_back(Value::of(k), v);
    return d;
  }
  throw EvalError{fmt::format("cannot call {}() without running Python", p)};
}

}  // namespace nbhub::config::py
