#pragma once
// A configuration value as read from any source (TOML, a jupyterhub_config.py literal, an
// environment variable, a command-line flag), before it is checked against its option's type.
// One shape for every source keeps the type checks and their messages in one place
// (config/options.cpp).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nbhub::config {

struct Value {
  enum class Kind { none, boolean, integer, real, string, list, dict, class_ref };
  Kind kind = Kind::none;
  bool boolean = false;
  std::int64_t integer = 0;
  double real = 0;
  std::string string;  // Kind::string, or the dotted name of a Kind::class_ref
  std::vector<Value> items;                      // Kind::list (a Python list, tuple or set)
  std::vector<std::pair<Value, Value>> entries;  // Kind::dict, in source order
  // Set for environment variables and flags: the value is text (Kind::string) that the option's
  // type parses ("8000" for a port, "a,b" for a list, "true" for a flag).
  bool from_text = false;

  static Value none() { return {}; }
  static Value of(bool b) { Value v; v.kind = Kind::boolean; v.boolean = b; return v; }
  static Value of(std::int64_t i) { Value v; v.kind = Kind::integer; v.integer = i; return v; }
  static Value of_real(double d) { Value v; v.kind = Kind::real; v.real = d; return v; }
  static Value of(std::string s) { Value v; v.kind = Kind::string; v.string = std::move(s); return v; }
  // Without this, of("text") would pick of(bool): a pointer converts to bool before std::string.
  static Value of(char const* s) { return of(std::string(s)); }
  static Value text(std::string s) { Value v = of(std::move(s)); v.from_text = true; return v; }
  static Value list(std::vector<Value> items = {}) {
    Value v; v.kind = Kind::list; v.items = std::move(items); return v;
  }
  static Value dict() { Value v; v.kind = Kind::dict; return v; }
  static Value class_ref(std::string dotted) {
    Value v; v.kind = Kind::class_ref; v.string = std::move(dotted); return v;
  }
};

// How a value reads in a message: "eighty" quoted, 70000, true, "a list", "a dict".
// `python` picks Python words (True, None, a dict) over TOML ones (true, a table).
std::string describe(Value const& v, bool python);

// Python's str() of a scalar ("True", "8000", "a"); containers as JSON text.
std::string python_str(Value const& v);

// JSON text of a value (dict keys are stringified; class references become their dotted name).
std::string to_json(Value const& v);

}  // namespace nbhub::config
