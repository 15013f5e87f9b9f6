#include "app/spawner_reload.hpp"

#include <unistd.h>

#include "app/local_spawner_setup.hpp"
#include "config/spawner_traits.hpp"
#include "spawn/docker_config.hpp"
#include "spawn/docker_spawner.hpp"
#include "spawn/kube_spawner.hpp"
#include "spawn/local_spawner.hpp"
#include "spawn/profile_spawner.hpp"
#include "spawn/spawner_overrides.hpp"
#include "spawn/spawn_env.hpp"
#include "spawn/spawn_queue.hpp"

namespace nbhub::app {

spawn::SpawnerConfig spawner_config(config::SpawnerSettings const& s) {
  spawn::SpawnerConfig out;
  out.env_keep = s.env_keep;
  out.cmd = s.cmd;
  out.args = s.args;
  out.environment = s.environment;
  out.notebook_dir = s.notebook_dir;
  out.default_url = s.default_url;
  out.start_timeout = s.start_timeout;
  out.http_timeout = s.http_timeout;
  out.poll_interval = s.poll_interval;
  out.concurrent_spawn_limit = s.concurrent_spawn_limit;
  out.active_server_limit = s.active_server_limit;
  out.local_start_limit = s.local_start_limit;
  out.run_as_system_user = s.run_as_system_user;
  out.log_dir = s.log_dir;
  return out;
}

Result<spawn::kube::KubeConfig> kube_config(config::HubConfig const& cfg, config::SpawnerSettings const& s) {
  spawn::kube::KubeConfig base;
  base.start_timeout = s.start_timeout;
  base.jupyterhub_version = cfg.jupyterhub_version;
  base.data_dir = cfg.data_dir;
  return spawn::kube::kube_config_from_traits(std::move(base), cfg.spawner_options, spawn::process_env_lookup());
}

Result<ProfileSetup> profile_setup(config::HubConfig const& cfg) {
  ProfileSetup out;
  std::vector<std::string> classes;
  if (cfg.spawner == "kubernetes") {
    out.schema = spawn::kube::kube_profile_schema();
    classes = {"KubeSpawner", "Spawner"};
  } else {
    auto const target = cfg.spawner == "docker" ? spawn::OverrideTarget::docker : spawn::OverrideTarget::local;
    out.schema.where = cfg.spawner == "docker" ? "DockerSpawner.profile_list" : "LocalProcessSpawner.profile_list";
    out.schema.check_trait = [target](std::string_view trait) { return spawn::override_problem(target, trait); };
    classes = cfg.spawner == "docker" ? std::vector<std::string>{"DockerSpawner", "Spawner"}
                                      : std::vector<std::string>{"SimpleLocalProcessSpawner", "LocalProcessSpawner", "Spawner"};
  }
  for (auto const& cls : classes) {
    auto it = cfg.spawner_options.find(cls + ".profile_list");
    if (it == cfg.spawner_options.end()) continue;
    out.schema.where = cls + ".profile_list";
    auto parsed = spawn::parse_profiles(config::trait_value(it->second), out.schema);
    if (!parsed) return parsed.error();
    out.profiles = std::move(*parsed);
    break;
  }
  return out;
}

PartUpdate spawner_reload_part(SpawnerTargets t) {
  return [t](config::HubConfig const& next) -> Result<PartChange> {
    auto settings = config::apply_spawner_traits(next.spawner_settings, next.spawner_options);
    if (!settings) return settings.error();
    auto base = spawner_config(*settings);
    auto queue_cfg = base;
    auto const poll = settings->poll_interval.count();
    PartChange change;
    std::function<void()> set_spawner;
    if (t.docker) {
      auto d = spawn::docker_config_from_traits({}, next.spawner_options, spawn::process_env_lookup());
      if (!d) return d.error();
      change.restart = t.docker->restart_only_changes(*d);
      set_spawner = [s = t.docker, base, d = std::move(*d)] { s->set_config(base, d); };
    } else if (t.kube) {
      auto k = kube_config(next, *settings);
      if (!k) return k.error();
      change.restart = t.kube->restart_only_changes(*k);
      queue_cfg.start_timeout = spawn::kube::KubeSpawner::overall_start_timeout(*k);
      set_spawner = [s = t.kube, base, k = std::move(*k)] { s->set_config(base, k); };
    } else {
      auto c = local_spawner_config(next, *settings, base, ::geteuid());
      if (auto ok = spawn::check_env_keep(c.env_keep); !ok) return ok.error();
      set_spawner = [s = t.local, c = std::move(c)] { s->set_config(c); };
    }
    auto profiles = profile_setup(next);
    if (!profiles) return profiles.error();
    // The spawner first: the queue reads its start_limit().
    change.apply = [set_spawner, &queue = t.queue, queue_cfg, &every = t.poll_seconds, poll,
                    ps = t.profiles, list = std::move(profiles->profiles)] {
      set_spawner();
      if (ps) ps->set_profiles(list);
      queue.set_limits(queue_cfg);
      every = poll;
    };
    return change;
  };
}

}  // namespace nbhub::app
