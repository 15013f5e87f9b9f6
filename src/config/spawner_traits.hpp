#pragma once
// JupyterHub Spawner traits (from jupyterhub_config.py, kept in HubConfig::spawner_options as
// "Class.trait" → value text, JSON for non-strings) applied to nbhub's spawner settings:
// c.Spawner.cmd/args/environment/notebook_dir/default_url/start_timeout/http_timeout/
// poll_interval/env_keep, on Spawner or on the spawner class (LocalProcessSpawner, ...).
#include <boost/json/value.hpp>

#include <map>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/result.hpp"

namespace nbhub::config {

// A trait's value as kept in spawner_options: JSON when the text parses as JSON, else the
// text itself as a string (string traits are stored as their plain text).
boost::json::value trait_value(std::string const& text);

// What is wrong with a spawner.home_dir_template (SimpleLocalProcessSpawner's trait), "" when
// nothing: it must not be empty, must hold {username} (else every user would share one home),
// no other {field} (JupyterHub formats it with the user name only) and no ".." component.
// config::validate reports it with the file and line; the local spawner checks again.
std::string home_dir_template_problem(std::string_view tmpl);

// Errors name the trait and what was expected; unknown traits are left for other spawners.
Result<SpawnerSettings> apply_spawner_traits(SpawnerSettings base,
                                             std::map<std::string, std::string> const& traits);

}  // namespace nbhub::config
