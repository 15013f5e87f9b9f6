#pragma once
// Overrides of spawner settings for one spawn, for the local and Docker spawners: what a
// profile (profiles.hpp) or a Python hook (hub/python_hooks.hpp) changed, as {trait: value}
// with the traits' JupyterHub names. The Kubernetes spawner has its own
// (kube_config.hpp apply_kube_overrides).
//
// Both spawners: cmd (a string or list), args (list), environment (a dict merged into the
// configured one; a null value removes a variable), default_url and notebook_dir (strings).
// The Docker spawner also: image, cpu_limit, mem_limit ("2G" or bytes), volumes and
// read_only_volumes (added to the configured ones; a source named again replaces its entry),
// extra_create_kwargs and extra_host_config (merged into the configured dicts). The local
// spawner runs processes without resource limits: cpu_limit or mem_limit for it is refused
// rather than silently ignored.
#include <boost/json/object.hpp>

#include <string>
#include <string_view>

#include "core/result.hpp"
#include "spawn/docker_config.hpp"
#include "spawn/spawner_config.hpp"

namespace nbhub::spawn {

enum class OverrideTarget { local, docker };

// "" when `target` applies an override of `trait`, else why not (for profile_list checks).
std::string override_problem(OverrideTarget target, std::string_view trait);

// `cfg` with the overrides the local spawner applies. Errc::bad_request naming the trait for
// one it cannot apply or a value of the wrong type.
Result<SpawnerConfig> apply_local_overrides(SpawnerConfig cfg, boost::json::object const& overrides);

struct DockerSettings {
  SpawnerConfig cfg;
  DockerConfig docker;
};
// The same for the Docker spawner.
Result<DockerSettings> apply_docker_overrides(DockerSettings s, boost::json::object const& overrides);

}  // namespace nbhub::spawn
