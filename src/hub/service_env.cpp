#include "hub/service_env.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace nbhub::hub {

namespace json = boost::json;

Result<std::map<std::string, std::string>> service_environment(Service const& s, ServiceEnvContext const& ctx,
                                                                spawn::SystemUser const* user,
                                                                spawn::EnvLookup const& lookup) {
  // Spawner.env_keep's default in JupyterHub 3.0: _ServiceSpawner is built without the
  // hub's Spawner config.
  static constexpr char const* kEnvKeep[] = {"PATH",        "PYTHONPATH", "CONDA_ROOT", "CONDA_DEFAULT_ENV",
                                             "VIRTUAL_ENV", "LANG",       "LC_ALL",     "JUPYTERHUB_SINGLEUSER_APP"};
  std::map<std::string, std::string> env;
  for (auto const* name : kEnvKeep)
    if (auto v = lookup(name)) env[name] = *v;
  env["JUPYTERHUB_API_TOKEN"] = s.api_token.reveal();
  env["JPY_API_TOKEN"] = s.api_token.reveal();
  env["JUPYTERHUB_CLIENT_ID"] = s.oauth_client_id;
  env["JUPYTERHUB_HOST"] = "";
  env["JUPYTERHUB_OAUTH_CALLBACK_URL"] = s.url.empty() ? "" : s.prefix + "oauth_callback";
  auto scopes = json::serialize(json::array{"access:services", "access:services!service=" + s.name});
  env["JUPYTERHUB_OAUTH_SCOPES"] = scopes;
  env["JUPYTERHUB_OAUTH_ACCESS_SCOPES"] = scopes;
  env["JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES"] =
      json::serialize(json::array(s.oauth_client_allowed_scopes.begin(), s.oauth_client_allowed_scopes.end()));
  env["JUPYTERHUB_USER"] = s.user;
  env["JUPYTERHUB_SERVER_NAME"] = "";
  env["JUPYTERHUB_API_URL"] = ctx.api_url;
  env["JUPYTERHUB_BASE_URL"] = ctx.base_url;
  auto const origin = fmt::format("services: service \"{}\": environment", s.name);
  for (auto const& [k, v] : s.environment) {
    if (auto ok = spawn::check_variable(k, v, origin); !ok) return ok.error();
    env[k] = v;
  }
  env["JUPYTERHUB_SERVICE_NAME"] = s.name;
  if (!s.url.empty()) {
    env["JUPYTERHUB_SERVICE_URL"] = s.url;
    env["JUPYTERHUB_SERVICE_PREFIX"] = s.prefix;
  }
  if (user) {  // LocalProcessSpawner.user_env
    env["USER"] = user->name;
    if (!user->home.empty()) env["HOME"] = user->home;
    if (!user->shell.empty()) env["SHELL"] = user->shell;
  }
  return env;
}

}  // namespace nbhub::hub
