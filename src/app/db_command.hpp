#pragma once
// `nbhub db ...`: database maintenance without starting the hub.
//   nbhub db upgrade [DB_URL]        applies pending migrations; a SQLite file is copied to
//                                    <file>.bak-<unix time> first (default DB_URL: db_url)
//   nbhub db copy SQLITE_URL PG_URL  copies a SQLite database into an empty PostgreSQL one
#include <string>
#include <vector>

#include "config/config.hpp"

namespace nbhub::app {

int run_db_command(config::HubConfig const& cfg, std::vector<std::string> const& args);

}  // namespace nbhub::app
