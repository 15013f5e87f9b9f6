#pragma once
// The spawner's slice of the configuration, at start-up and on a reload (issue 21;
// docs/operations.md "Applied by a reload"). Every spawner kind follows a reload: servers
// started afterwards use the new command, environment, image, resources, profiles, ...;
// running servers keep what they were started with. The spawn queue takes the new limits and
// timeouts, the poll loop the new interval. What the Docker or Kubernetes spawner cannot
// change live is kept and named for the reload's warning (their restart_only_changes()).
#include <atomic>
#include <chrono>

#include "app/config_reloader.hpp"
#include "config/config.hpp"
#include "core/result.hpp"
#include "spawn/kube_config.hpp"
#include "spawn/profiles.hpp"
#include "spawn/spawner_config.hpp"

namespace nbhub::spawn { class DockerSpawner; class LocalSpawner; class ProfileSpawner; class SpawnQueue; }
namespace nbhub::spawn::kube { class KubeSpawner; }

namespace nbhub::app {

// The settings every spawner shares ([spawner], with the c.Spawner.* traits applied).
spawn::SpawnerConfig spawner_config(config::SpawnerSettings const& s);

// The Kubernetes spawner's settings: KubeSpawner.* traits over the hub's.
Result<spawn::kube::KubeConfig> kube_config(config::HubConfig const& cfg, config::SpawnerSettings const& s);

// The profile list (issue 23) of the configured spawner and what its entries may override:
// `<SpawnerClass>.profile_list`, else `Spawner.profile_list` (jupyterhub_config.py's c.X.profile_list,
// `[spawner.options]`, z2jh's singleuser.profileList). Errc::config naming the entry.
struct ProfileSetup {
  spawn::ProfileSchema schema;
  std::vector<spawn::Profile> profiles;
};
Result<ProfileSetup> profile_setup(config::HubConfig const& cfg);

// What a reload hands new spawner settings to; exactly one spawner is set. References and
// pointers outlive the reloader.
struct SpawnerTargets {
  spawn::LocalSpawner* local = nullptr;
  spawn::DockerSpawner* docker = nullptr;
  spawn::kube::KubeSpawner* kube = nullptr;
  spawn::SpawnQueue& queue;
  std::atomic<std::chrono::seconds::rep>& poll_seconds;  // the server poll loop's interval
  spawn::ProfileSpawner* profiles = nullptr;  // the profile list in front of the spawner
};

// The reload part (ConfigReloader::add_part) for the spawner, the queue and the poll loop. A
// configuration the spawner refuses (a bad trait, a home template, ...) refuses the reload.
PartUpdate spawner_reload_part(SpawnerTargets targets);

}  // namespace nbhub::app
