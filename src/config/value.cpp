#include "config/value.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "config/text.hpp"

namespace nbhub::config {

namespace json = boost::json;

std::string describe(Value const& v, bool python) {
  switch (v.kind) {
    case Value::Kind::none: return "None";
    case Value::Kind::boolean:
      return python ? (v.boolean ? "True" : "False") : (v.boolean ? "true" : "false");
    case Value::Kind::integer: return std::to_string(v.integer);
    case Value::Kind::real: return fmt::format("{}", v.real);
    case Value::Kind::string: return dquoted(v.string);
    case Value::Kind::list: return python ? "a list" : "an array";
    case Value::Kind::dict: return python ? "a dict" : "a table";
    case Value::Kind::class_ref: return "the class " + v.string;
  }
  return "?";
}

namespace {

json::value to_json_value(Value const& v) {
  switch (v.kind) {
    case Value::Kind::none: return nullptr;
    case Value::Kind::boolean: return v.boolean;
    case Value::Kind::integer: return v.integer;
    case Value::Kind::real: return v.real;
    case Value::Kind::string:
    case Value::Kind::class_ref: return json::string(v.string);
    case Value::Kind::list: {
      json::array a;
      for (auto const& i : v.items) a.push_back(to_json_value(i));
      return a;
    }
    case Value::Kind::dict: {
      json::object o;
      for (auto const& [k, val] : v.entries) o[python_str(k)] = to_json_value(val);
      return o;
    }
  }
  return nullptr;
}

}  // namespace

std::string python_str(Value const& v) {
  switch (v.kind) {
    case Value::Kind::none: return "None";
    case Value::Kind::boolean: return v.boolean ? "True" : "False";
    case Value::Kind::integer: return std::to_string(v.integer);
    case Value::Kind::real: return fmt::format("{}", v.real);
    case Value::Kind::string:
    case Value::Kind::class_ref: return v.string;
    case Value::Kind::list:
    case Value::Kind::dict: return to_json(v);
  }
  return {};
}

std::string to_json(Value const& v) { return json::serialize(to_json_value(v)); }

}  // namespace nbhub::config
