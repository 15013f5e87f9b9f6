#include "config/z2jh_values.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace nbhub::config::z2jh {

namespace {

Error config_error(std::string msg) { return make_error(Errc::config, std::move(msg)); }

// YAML 1.2 core schema for plain scalars; quoted (tag "!") and block scalars stay strings.
Value scalar(YAML::Node const& n) {
  std::string const& s = n.Scalar();
  if (n.Tag() == "!") return Value::of(s);
  if (s == "true" || s == "True" || s == "TRUE") return Value::of(true);
  if (s == "false" || s == "False" || s == "FALSE") return Value::of(false);
  if (s == "null" || s == "Null" || s == "NULL" || s == "~" || s.empty()) return Value::none();
  std::int64_t i = 0;
  auto const* end = s.data() + s.size();
  auto const* first = s.data() + (s.starts_with('+') ? 1 : 0);
  if (auto [p, ec] = std::from_chars(first, end, i); ec == std::errc() && p == end && first != end)
    return Value::of(i);
  if (s.find_first_of(".eE") != std::string::npos) {
    double d = 0;
    if (auto [p, ec] = std::from_chars(first, end, d); ec == std::errc() && p == end)
      return Value::of_real(d);
  }
  return Value::of(s);
}

Value convert(YAML::Node const& n, std::string const& key, std::string const& file,
              std::map<std::string, Place, std::less<>>& places) {
  places[key] = Place{file, n.Mark().line + 1};
  switch (n.Type()) {
    case YAML::NodeType::Scalar: return scalar(n);
    case YAML::NodeType::Sequence: {
      Value v = Value::list();
      for (std::size_t i = 0; i < n.size(); ++i)
        v.items.push_back(convert(n[i], fmt::format("{}[{}]", key, i), file, places));
      return v;
    }
    case YAML::NodeType::Map: {
      Value v = Value::dict();
      for (auto const& kv : n) {
        auto k = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
        v.entries.emplace_back(Value::of(k),
                               convert(kv.second, key.empty() ? k : key + "." + k, file, places));
      }
      return v;
    }
    default: return Value::none();
  }
}

// Helm's own rule for values files: dicts merge key by key, anything else is replaced.
void deep_merge(Value& into, Value const& over) {
  if (into.kind != Value::Kind::dict || over.kind != Value::Kind::dict) {
    into = over;
    return;
  }
  for (auto const& [k, v] : over.entries) {
    auto const& key = k.string;  // clang 14 (the fuzz build) cannot capture a structured binding
    auto it = std::find_if(into.entries.begin(), into.entries.end(),
                           [&](auto const& e) { return e.first.string == key; });
    if (it == into.entries.end())
      into.entries.emplace_back(k, v);
    else
      deep_merge(it->second, v);
  }
}

Result<Value> parse_one(std::string_view text, std::string const& name,
                        std::map<std::string, Place, std::less<>>& places) {
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(text));
  } catch (YAML::Exception const& e) {
    return config_error(fmt::format("{}:{}: not valid YAML: {}", name, e.mark.line + 1, e.msg));
  }
  if (doc.IsNull()) return Value::dict();
  if (!doc.IsMap())
    return config_error(fmt::format("{}: expected a mapping of Helm values at the top level", name));
  try {
    return convert(doc, "", name, places);
  } catch (YAML::Exception const& e) {
    return config_error(fmt::format("{}:{}: {}", name, e.mark.line + 1, e.msg));
  }
}

std::optional<std::string> slurp(std::filesystem::path const& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

Value const* member(Value const& dict, std::string_view key) {
  if (dict.kind != Value::Kind::dict) return nullptr;
  for (auto const& [k, v] : dict.entries)
    if (k.kind == Value::Kind::string && k.string == key) return &v;
  return nullptr;
}

Result<Values> Values::parse(std::string_view base, std::string const& base_name,
                             std::string_view overlay, std::string const& overlay_name) {
  Values out;
  auto b = parse_one(base, base_name, out.places_);
  if (!b) return b.error();
  out.root_ = std::move(*b);
  if (!overlay.empty()) {
    std::map<std::string, Place, std::less<>> over_places;
    auto o = parse_one(overlay, overlay_name, over_places);
    if (!o) return o.error();
    deep_merge(out.root_, *o);
    for (auto& [k, p] : over_places) out.places_[k] = std::move(p);
  }
  return out;
}

Result<Values> Values::load(std::filesystem::path const& dir) {
  auto base_path = dir / "secret" / "values.yaml";
  auto base = slurp(base_path);
  if (!base)
    return config_error(fmt::format("{}: cannot read the chart's values: {}", base_path.string(),
                                    std::strerror(errno)));
  auto over_path = dir / "existing-secret" / "values.yaml";
  auto over = slurp(over_path);
  return parse(*base, base_path.string(), over ? *over : std::string_view{}, over_path.string());
}

Value const* Values::find(std::string_view dotted) const {
  Value const* cur = &root_;
  std::size_t start = 0;
  while (cur && start <= dotted.size()) {
    auto dot = dotted.find('.', start);
    auto part = dotted.substr(start, dot == std::string_view::npos ? std::string_view::npos
                                                                    : dot - start);
    cur = member(*cur, part);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return cur;
}

bool Values::has(std::string_view dotted) const {
  auto const* v = find(dotted);
  return v && v->kind != Value::Kind::none;
}

Place Values::place(std::string_view dotted) const {
  std::string key(dotted);
  for (;;) {
    if (auto it = places_.find(key); it != places_.end()) return it->second;
    auto dot = key.rfind('.');
    if (dot == std::string::npos) break;
    key.resize(dot);
  }
  if (auto it = places_.find(""); it != places_.end()) return {it->second.file, 0};
  return {};
}

std::optional<std::string> read_secret_key(std::filesystem::path const& dir,
                                           std::string const& key) {
  if (auto v = slurp(dir / "existing-secret" / key)) return v;
  return slurp(dir / "secret" / key);
}

}  // namespace nbhub::config::z2jh
