#include "spawn/docker_config.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <cctype>
#include <cmath>

namespace nbhub::spawn {

namespace json = boost::json;

std::optional<std::int64_t> parse_byte_size(std::string const& text) {
  if (text.empty()) return std::nullopt;
  std::size_t used = 0;
  double n = 0;
  try {
    n = std::stod(text, &used);
  } catch (...) {
    return std::nullopt;
  }
  auto unit = text.substr(used);
  double mult = 1;
  if (unit.empty()) {
  } else if (unit == "K" || unit == "k") {
    mult = 1024.0;
  } else if (unit == "M" || unit == "m") {
    mult = 1024.0 * 1024;
  } else if (unit == "G" || unit == "g") {
    mult = 1024.0 * 1024 * 1024;
  } else if (unit == "T" || unit == "t") {
    mult = 1024.0 * 1024 * 1024 * 1024;
  } else {
    return std::nullopt;
  }
  if (n < 0 || !std::isfinite(n)) return std::nullopt;
  return static_cast<std::int64_t>(n * mult);
}

std::string docker_escape(std::string const& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '.')
      out += static_cast<char>(c);
    else
      out += fmt::format("-{:02x}", c);
  }
  return out;
}

namespace {

Error bad(std::string const& trait, std::string const& what) {
  return make_error(Errc::config, "DockerSpawner." + trait + ": " + what);
}

// A trait's text: JSON for non-strings, the plain string otherwise.
std::optional<json::value> as_json(std::string const& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return std::nullopt;
  return v;
}

}  // namespace

Result<DockerConfig> docker_config_from_traits(DockerConfig c,
                                               std::map<std::string, std::string> const& traits,
                                               EnvLookup const& env) {
  if (auto host = env("DOCKER_HOST"); host && !host->empty()) {
    if (!host->starts_with("unix://"))
      return make_error(Errc::config,
                        "DOCKER_HOST: only unix:// sockets are supported (got a " +
                            host->substr(0, host->find(':')) + " URL); use the local socket");
    c.socket_path = host->substr(7);
  }
  auto get = [&](std::string const& name) -> std::optional<std::string> {
    for (auto const& cls : {"DockerSpawner.", "Spawner."}) {
      auto it = traits.find(cls + name);
      if (it != traits.end()) return it->second;
    }
    return std::nullopt;
  };
  auto text = [&](std::string const& name, std::string& out) {
    if (auto v = get(name)) out = *v;
  };
  text("image", c.image);
  text("name_template", c.name_template);
  text("prefix", c.prefix);
  text("network_name", c.network_name);
  if (auto v = get("pull_policy")) {
    std::string p;
    for (char ch : *v) p += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (p != "ifnotpresent" && p != "always" && p != "never")
      return bad("pull_policy", "expected ifnotpresent, always or never");
    c.pull_policy = p;
  }
  if (auto v = get("remove")) {
    if (*v == "true" || *v == "True")
      c.remove = true;
    else if (*v == "false" || *v == "False")
      c.remove = false;
    else
      return bad("remove", "expected true or false");
  }
  if (auto v = get("cpu_limit")) {
    try {
      c.cpu_limit = std::stod(*v);
    } catch (...) {
      return make_error(Errc::config, "Spawner.cpu_limit: expected a number of CPUs");
    }
  }
  if (auto v = get("mem_limit")) {
    auto j = as_json(*v);
    std::string t = j && j->is_string() ? std::string(j->as_string()) : *v;
    auto bytes = parse_byte_size(t);
    if (!bytes)
      return make_error(Errc::config,
                        "Spawner.mem_limit: expected bytes or a size such as 512M or 2G");
    c.mem_limit = *bytes;
  }
  for (auto const& [trait, read_only] : {std::pair{"volumes", false}, {"read_only_volumes", true}}) {
    auto v = get(trait);
    if (!v) continue;
    auto j = as_json(*v);
    if (!j || !j->is_object())
      return bad(trait, "expected a dict {\"host path or volume\": \"container path\"}");
    for (auto const& [src, target] : j->as_object()) {
      DockerVolume vol{std::string(src), {}, read_only};
      if (target.is_string()) {
        vol.target = std::string(target.as_string());
      } else if (target.is_object() && target.as_object().contains("bind") &&
                 target.as_object().at("bind").is_string()) {
        vol.target = std::string(target.as_object().at("bind").as_string());
        if (auto m = target.as_object().if_contains("mode"); m && m->is_string())
          vol.read_only = vol.read_only || m->as_string() == "ro";
      } else {
        return bad(trait, "the value for '" + vol.source +
                              "' must be a path or {\"bind\": path, \"mode\": \"ro\"|\"rw\"}");
      }
      c.volumes.push_back(std::move(vol));
    }
  }
  for (auto const& [trait, out] :
       {std::pair<char const*, json::object*>{"extra_create_kwargs", &c.extra_create_kwargs},
        {"extra_host_config", &c.extra_host_config}}) {
    auto v = get(trait);
    if (!v) continue;
    auto j = as_json(*v);
    if (!j || !j->is_object()) return bad(trait, "expected a dict");
    *out = j->as_object();
  }
  return c;
}

}  // namespace nbhub::spawn
