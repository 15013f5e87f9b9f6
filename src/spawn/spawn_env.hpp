#pragma once
// The single-user server's environment, in JupyterHub's order (spec §1.1, Spawner.get_env):
//   1. env_keep, copied from nbhub's own environment;
//   2. the hub's JUPYTERHUB_* contract from SpawnRequest::env (spec §1.2);
//   3. what the spawner owns: JUPYTERHUB_SERVICE_PREFIX, JUPYTERHUB_SERVICE_URL,
//      JUPYTERHUB_ROOT_DIR (notebook_dir), JUPYTERHUB_DEFAULT_URL (default_url);
//   4. `environment` from config, templated, so an admin can override anything;
//   5. what Python hooks set in (or removed from) spawner.environment (SpawnRequest::
//      hook_environment, hub/python_hooks.hpp), as JupyterHub reads the trait after its hooks.
// LocalSpawner then sets USER, HOME and SHELL for a system user, after `environment`, as
// LocalProcessSpawner.user_env does.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "spawn/spawner.hpp"
#include "spawn/spawner_config.hpp"

namespace nbhub::spawn {

struct TemplateVars {
  std::string username;    // unescaped, as JupyterHub's template_namespace()
  std::string servername;  // "" for the default server
  std::string base_url;    // the server's prefix, "/user/alice/"
};

// Replaces {username}, {servername} and {base_url}. Anything else, including other braces,
// stays as written: JupyterHub never formats `environment` values, and JSON values such as
// JUPYTERHUB_COOKIE_OPTIONS must pass unchanged. (Python's "{{" escape is not supported.)
std::string expand_template(std::string_view s, TemplateVars const& vars);

// Looks a variable up in nbhub's environment; injectable so tests need not setenv().
using EnvLookup = std::function<std::optional<std::string>(std::string const& name)>;
EnvLookup process_env_lookup();

// Whether nbhub reads its own secrets or settings from the variable `name`: NBHUB_* (the
// crypt key, cookie secret, client secrets...), JUPYTERHUB_CRYPT_KEY,
// JUPYTERHUB_COOKIE_SECRET, JPY_COOKIE_SECRET, CONFIGPROXY_AUTH_TOKEN, OAUTH_CLIENT_SECRET.
bool is_hub_secret_variable(std::string_view name);

// Errc::config naming the first entry of env_keep that is_hub_secret_variable: copied from
// nbhub's environment, it would hand the hub's secret to every server (spec §1.1).
Result<void> check_env_keep(std::vector<std::string> const& env_keep);

// Errc::config when `name` is empty or holds '=' or NUL, or `value` holds NUL; the message
// starts with `origin` ("spawner.environment").
Result<void> check_variable(std::string const& name, std::string const& value, std::string_view origin);

// Errc::config when a name is empty or holds '=' or NUL, or a value holds NUL (execve would
// silently cut it), or env_keep fails check_env_keep; the message names the variable.
Result<std::map<std::string, std::string>> build_environment(SpawnerConfig const& cfg,
                                                             SpawnRequest const& req,
                                                             std::string const& service_url,
                                                             EnvLookup const& lookup);

// "NAME=value" strings for execve.
std::vector<std::string> to_envp(std::map<std::string, std::string> const& env);

}  // namespace nbhub::spawn
