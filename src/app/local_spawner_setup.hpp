#pragma once
// The local spawner's slice of the config, with what keeps the hub's files away from servers
// that run as nbhub's own user (issue 18 point 5, docs/local-spawner.md): each user's home
// under data_dir, the list of the hub's own paths no home may contain, and the opt-in for
// servers that would run as root.
#include <sys/types.h>

#include <spdlog/logger.h>

#include "config/config.hpp"
#include "spawn/spawner_config.hpp"

namespace nbhub::app {

// `base` (the settings every spawner shares) plus: home_dir_template resolved against
// data_dir; hub_state = the working directory, data_dir, cookie_secret_file, the SQLite
// database and spawner.log_dir, absolute; allow_root_servers. When nbhub runs as root (`euid`
// 0) without system users and root servers are allowed, "--allow-root" is added to args, as
// jupyterhub-singleuser refuses to run as root without it.
spawn::SpawnerConfig local_spawner_config(config::HubConfig const& cfg,
                                          config::SpawnerSettings const& settings,
                                          spawn::SpawnerConfig base, uid_t euid);

// Startup lines for a hub whose spawner is the local one: where homes go, and a warning when
// servers run as root, or will be refused because they would.
void log_local_spawner(spawn::SpawnerConfig const& c, uid_t euid, spdlog::logger& log);

}  // namespace nbhub::app
