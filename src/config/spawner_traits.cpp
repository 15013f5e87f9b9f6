#include "config/spawner_traits.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace nbhub::config {

namespace json = boost::json;

namespace {

Error bad(std::string const& key, std::string_view expected) {
  return Error{Errc::config, fmt::format("spawner_options.\"{}\": expected {}", key, expected)};
}

Result<std::vector<std::string>> string_list(std::string const& key, json::value const& v) {
  std::vector<std::string> out;
  if (v.is_string()) {  // c.Spawner.cmd = "jupyterhub-singleuser"
    out.emplace_back(v.get_string());
    return out;
  }
  if (!v.is_array()) return bad(key, "a list of strings");
  for (auto const& e : v.get_array()) {
    if (!e.is_string()) return bad(key, "a list of strings");
    out.emplace_back(e.get_string());
  }
  return out;
}

Result<Seconds> seconds(std::string const& key, json::value const& v) {
  if (v.is_int64() && v.get_int64() >= 0) return Seconds(v.get_int64());
  if (v.is_double() && v.get_double() >= 0) return Seconds(static_cast<std::int64_t>(v.get_double()));
  return bad(key, "a number of seconds");
}

}  // namespace

std::string home_dir_template_problem(std::string_view tmpl) {
  constexpr std::string_view kField = "{username}";
  if (tmpl.empty()) return "empty; the default is \"homes/{username}\" (under data_dir)";
  bool has_user = false;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl.substr(i, kField.size()) == kField) {
      has_user = true;
      i += kField.size() - 1;
    } else if (tmpl[i] == '{' || tmpl[i] == '}') {
      auto end = tmpl.find('}', i);
      auto len = end == std::string_view::npos || tmpl[i] == '}' ? 1 : end - i + 1;
      return fmt::format("only {{username}} is replaced (a home belongs to a user, not to one "
                         "of their servers), found '{}'",
                         tmpl.substr(i, len));
    }
  }
  if (!has_user) return "needs {username}, or every user would share one home";
  for (std::size_t b = 0; b <= tmpl.size();) {
    auto e = std::min(tmpl.find('/', b), tmpl.size());
    if (tmpl.substr(b, e - b) == "..") return "no '..' please: write the directory it means";
    b = e + 1;
  }
  return {};
}

json::value trait_value(std::string const& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return json::value(text);
  return v;
}

Result<SpawnerSettings> apply_spawner_traits(SpawnerSettings s,
                                             std::map<std::string, std::string> const& traits) {
  for (auto const& [key, text] : traits) {
    auto dot = key.rfind('.');
    if (dot == std::string::npos) continue;
    auto cls = key.substr(0, dot);
    auto trait = key.substr(dot + 1);
    if (cls != "Spawner" && cls != "LocalProcessSpawner" && cls != "SimpleLocalProcessSpawner") continue;
    auto v = trait_value(text);
    if (trait == "cmd" || trait == "args" || trait == "env_keep") {
      auto list = string_list(key, v);
      if (!list) return list.error();
      (trait == "cmd" ? s.cmd : trait == "args" ? s.args : s.env_keep) = std::move(*list);
    } else if (trait == "environment") {
      if (!v.is_object()) return bad(key, "a dict of strings");
      for (auto const& kv : v.get_object()) {
        if (!kv.value().is_string()) return bad(key, "a dict of strings (callables are not supported)");
        s.environment[std::string(kv.key())] = std::string(kv.value().get_string());
      }
    } else if (trait == "notebook_dir" || trait == "default_url") {
      if (!v.is_string()) return bad(key, "a string");
      (trait == "notebook_dir" ? s.notebook_dir : s.default_url) = std::string(v.get_string());
    } else if (trait == "start_timeout" || trait == "http_timeout" || trait == "poll_interval") {
      auto secs = seconds(key, v);
      if (!secs) return secs.error();
      (trait == "start_timeout" ? s.start_timeout : trait == "http_timeout" ? s.http_timeout : s.poll_interval) = *secs;
    }
  }
  return s;
}

}  // namespace nbhub::config
