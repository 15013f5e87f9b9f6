#pragma once
// `nbhub import-jupyterhub-db JUPYTERHUB_SQLITE_FILE`: copies a JupyterHub 3.x database into
// nbhub's store (db_url): users (name, admin, last_activity), groups and memberships, and the
// API tokens of users and services, whose JupyterHub hashes stay the verifiers (store migration
// 3, hub/jupyterhub_token_hash.hpp). What nbhub's store does not keep (roles, services
// themselves, users' created times, OAuth tokens of single-user servers) is printed as a
// warning, never dropped silently. Re-running is idempotent: users, groups and tokens already
// present are kept, memberships are merged. See docs/import-jupyterhub-db.md.
#include <string>
#include <vector>

#include "config/config.hpp"

namespace nbhub::app {

int run_import_jupyterhub_command(config::HubConfig const& cfg,
                                  std::vector<std::string> const& args);

}  // namespace nbhub::app
