#include "spawn/spawner_overrides.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <map>

namespace nbhub::spawn {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 5> kCommon{"cmd", "args", "environment", "default_url", "notebook_dir"};
constexpr std::array<std::string_view, 7> kDocker{"image",          "cpu_limit",           "mem_limit",
                                                  "volumes",        "read_only_volumes",   "extra_create_kwargs",
                                                  "extra_host_config"};

bool in(auto const& list, std::string_view t) { return std::find(list.begin(), list.end(), t) != list.end(); }

Error bad(std::string_view trait, std::string_view what) {
  return make_error(Errc::bad_request, fmt::format("override of {}: {}", trait, what));
}

Result<std::vector<std::string>> strings(std::string_view trait, json::value const& v) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.emplace_back(v.as_string());
    return out;
  }
  if (!v.is_array()) return bad(trait, "expected a list of strings");
  for (auto const& e : v.as_array()) {
    if (!e.is_string()) return bad(trait, "expected a list of strings");
    out.emplace_back(e.as_string());
  }
  return out;
}

Result<void> apply_common(SpawnerConfig& c, std::string_view trait, json::value const& v) {
  if (trait == "cmd" || trait == "args") {
    auto list = strings(trait, v);
    if (!list) return list.error();
    (trait == "cmd" ? c.cmd : c.args) = std::move(*list);
  } else if (trait == "environment") {
    if (!v.is_object()) return bad(trait, "expected a dict of strings");
    for (auto const& kv : v.as_object()) {
      if (kv.value().is_null()) c.environment.erase(std::string(kv.key()));
      else if (kv.value().is_string()) c.environment[std::string(kv.key())] = std::string(kv.value().as_string());
      else return bad(trait, fmt::format("the value of {} must be a string", std::string(kv.key())));
    }
  } else {
    if (!v.is_string()) return bad(trait, "expected a string");
    (trait == "default_url" ? c.default_url : c.notebook_dir) = std::string(v.as_string());
  }
  return {};
}

void merge(json::object& into, json::object const& from) {
  for (auto const& kv : from) into[kv.key()] = kv.value();
}

}  // namespace

std::string override_problem(OverrideTarget target, std::string_view trait) {
  if (in(kCommon, trait)) return "";
  if (target == OverrideTarget::docker) {
    if (in(kDocker, trait)) return "";
    return fmt::format("the Docker spawner cannot apply this per server; it applies {}, {}", fmt::join(kCommon, ", "),
                       fmt::join(kDocker, ", "));
  }
  if (trait == "cpu_limit" || trait == "mem_limit" || trait == "image")
    return "the local spawner runs processes on this machine, without images or resource limits";
  return fmt::format("the local spawner cannot apply this per server; it applies {}", fmt::join(kCommon, ", "));
}

Result<SpawnerConfig> apply_local_overrides(SpawnerConfig cfg, json::object const& overrides) {
  auto const had_allow_root = std::find(cfg.args.begin(), cfg.args.end(), "--allow-root") != cfg.args.end();
  for (auto const& kv : overrides) {
    if (auto why = override_problem(OverrideTarget::local, kv.key()); !why.empty()) return bad(kv.key(), why);
    if (auto r = apply_common(cfg, kv.key(), kv.value()); !r) return r.error();
  }
  // spawner.allow_root_servers added --allow-root to the configured args (app/local_spawner_setup);
  // new args from a profile or hook keep it, or a root server would refuse to start.
  if (cfg.allow_root_servers && had_allow_root &&
      std::find(cfg.args.begin(), cfg.args.end(), "--allow-root") == cfg.args.end())
    cfg.args.emplace_back("--allow-root");
  return cfg;
}

Result<DockerSettings> apply_docker_overrides(DockerSettings s, json::object const& overrides) {
  // The Docker-only traits go through the same reader as the configuration, as
  // "DockerSpawner.<trait>" texts (strings as they are, other values as JSON).
  std::map<std::string, std::string> traits;
  for (auto const& kv : overrides) {
    if (auto why = override_problem(OverrideTarget::docker, kv.key()); !why.empty()) return bad(kv.key(), why);
    if (in(kCommon, kv.key())) {
      if (auto r = apply_common(s.cfg, kv.key(), kv.value()); !r) return r.error();
      continue;
    }
    if ((kv.key() == "extra_create_kwargs" || kv.key() == "extra_host_config")) {
      if (!kv.value().is_object()) return bad(kv.key(), "expected a dict");
      merge(kv.key() == "extra_create_kwargs" ? s.docker.extra_create_kwargs : s.docker.extra_host_config,
            kv.value().as_object());
      continue;
    }
    auto const& v = kv.value();
    traits["DockerSpawner." + std::string(kv.key())] = v.is_string() ? std::string(v.as_string()) : json::serialize(v);
  }
  if (traits.empty()) return s;
  // Volumes are added; a source named again replaces the configured entry.
  auto base = s.docker;
  for (auto const* key : {"DockerSpawner.volumes", "DockerSpawner.read_only_volumes"}) {
    auto it = traits.find(key);
    if (it == traits.end()) continue;
    boost::system::error_code ec;
    auto j = json::parse(it->second, ec);
    if (!ec && j.is_object())
      std::erase_if(base.volumes, [&](DockerVolume const& v) { return j.as_object().contains(v.source); });
  }
  auto next = docker_config_from_traits(std::move(base), traits, [](std::string const&) { return std::optional<std::string>{}; });
  if (!next) return make_error(Errc::bad_request, "override: " + next.error().message);
  next->socket_path = s.docker.socket_path;  // DOCKER_HOST is not read here: keep the daemon
  s.docker = std::move(*next);
  return s;
}

}  // namespace nbhub::spawn
