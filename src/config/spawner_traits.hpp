#pragma once
// JupyterHub Spawner traits (from jupyterhub_config.py, kept in HubConfig::spawner_options as
// "Class.trait" → value text, JSON for non-strings) applied to nbhub's spawner settings:
// c.Spawner.cmd/args/environment/notebook_dir/default_url/start_timeout/http_timeout/
// poll_interval/env_keep, on Spawner or on the spawner class (LocalProcessSpawner, ...).
#include <map>
#include <string>

#include "config/config.hpp"
#include "core/result.hpp"

namespace nbhub::config {

// Errors name the trait and what was expected; unknown traits are left for other spawners.
Result<SpawnerSettings> apply_spawner_traits(SpawnerSettings base,
                                             std::map<std::string, std::string> const& traits);

}  // namespace nbhub::config
