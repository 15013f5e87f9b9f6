#include "spawn/spawn_env.hpp"

#include <fmt/format.h>

#include <cstdlib>

namespace nbhub::spawn {

std::string expand_template(std::string_view s, TemplateVars const& vars) {
  std::string out;
  out.reserve(s.size());
  std::pair<std::string_view, std::string const*> const names[] = {
      {"{username}", &vars.username},
      {"{servername}", &vars.servername},
      {"{base_url}", &vars.base_url}};
  for (std::size_t i = 0; i < s.size();) {
    bool replaced = false;
    if (s[i] == '{') {
      for (auto const& [name, value] : names) {
        if (s.substr(i, name.size()) == name) {
          out += *value;
          i += name.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

EnvLookup process_env_lookup() {
  return [](std::string const& name) -> std::optional<std::string> {
    // getenv is safe here: nbhub never calls setenv after start-up.
    if (char const* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
  };
}

bool is_hub_secret_variable(std::string_view name) {
  static constexpr std::string_view kSecrets[] = {
      "JUPYTERHUB_CRYPT_KEY", "JUPYTERHUB_COOKIE_SECRET", "JPY_COOKIE_SECRET",
      "CONFIGPROXY_AUTH_TOKEN", "OAUTH_CLIENT_SECRET"};
  if (name.starts_with("NBHUB_")) return true;
  for (auto s : kSecrets)
    if (name == s) return true;
  return false;
}

Result<void> check_env_keep(std::vector<std::string> const& env_keep) {
  for (auto const& name : env_keep)
    if (is_hub_secret_variable(name))
      return Error{Errc::config,
                   fmt::format("spawner.env_keep: {} holds the hub's own secrets or settings and "
                               "is never passed to servers; remove it (a value servers need "
                               "belongs in spawner.environment)",
                               name)};
  return {};
}

Result<void> check_variable(std::string const& name, std::string const& value,
                            std::string_view origin) {
  if (name.empty() || name.find('=') != std::string::npos ||
      name.find('\0') != std::string::npos)
    return Error{Errc::config, fmt::format("{}: '{}' is not a valid environment variable name",
                                           origin, name)};
  if (value.find('\0') != std::string::npos)
    return Error{Errc::config,
                 fmt::format("{}: the value of {} contains a NUL byte", origin, name)};
  return {};
}

Result<std::map<std::string, std::string>> build_environment(SpawnerConfig const& cfg,
                                                             SpawnRequest const& req,
                                                             std::string const& service_url,
                                                             EnvLookup const& lookup) {
  std::map<std::string, std::string> env;
  if (auto ok = check_env_keep(cfg.env_keep); !ok) return ok.error();
  for (auto const& name : cfg.env_keep)
    if (auto v = lookup(name)) env[name] = *v;
  for (auto const& [k, v] : req.env) {
    if (auto ok = check_variable(k, v, "spawn request"); !ok) return ok.error();
    env[k] = v;
  }
  TemplateVars vars{req.user, req.server_name, req.service_prefix};
  env["JUPYTERHUB_SERVICE_PREFIX"] = req.service_prefix;
  env["JUPYTERHUB_SERVICE_URL"] = service_url;
  if (!cfg.notebook_dir.empty())
    env["JUPYTERHUB_ROOT_DIR"] = expand_template(cfg.notebook_dir, vars);
  if (!cfg.default_url.empty())
    env["JUPYTERHUB_DEFAULT_URL"] = expand_template(cfg.default_url, vars);
  for (auto const& [k, v] : cfg.environment) {
    std::string value = expand_template(v, vars);
    if (auto ok = check_variable(k, value, "spawner.environment"); !ok) return ok.error();
    env[k] = std::move(value);
  }
  // 5. What a Python pre_spawn_hook/auth_state_hook put in spawner.environment: JupyterHub's
  //    get_env() reads the trait after the hooks ran, so their values win over config's.
  for (auto const& [k, v] : req.hook_environment) {
    if (auto ok = check_variable(k, v, "the Python hook's spawner.environment"); !ok) return ok.error();
    env[k] = v;
  }
  for (auto const& k : req.hook_environment_removed) env.erase(k);
  return env;
}

std::vector<std::string> to_envp(std::map<std::string, std::string> const& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (auto const& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

}  // namespace nbhub::spawn
