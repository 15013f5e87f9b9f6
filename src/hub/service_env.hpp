#pragma once
// A managed service's environment, as JupyterHub 3.0 builds it (services/service.py
// Service.start and _ServiceSpawner over Spawner.get_env):
//   1. the default env_keep (PATH, PYTHONPATH, CONDA_ROOT, CONDA_DEFAULT_ENV, VIRTUAL_ENV, LANG,
//      LC_ALL, JUPYTERHUB_SINGLEUSER_APP) copied from nbhub's environment;
//   2. JUPYTERHUB_API_TOKEN (and JPY_API_TOKEN), JUPYTERHUB_CLIENT_ID, JUPYTERHUB_HOST,
//      JUPYTERHUB_OAUTH_CALLBACK_URL, JUPYTERHUB_OAUTH_SCOPES and _ACCESS_SCOPES
//      (["access:services", "access:services!service=<name>"]),
//      JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES, JUPYTERHUB_USER (the service's `user`, often ""),
//      JUPYTERHUB_SERVER_NAME (""), JUPYTERHUB_API_URL, JUPYTERHUB_BASE_URL; no
//      JUPYTERHUB_ACTIVITY_URL (JupyterHub pops it for services);
//   3. the service's `environment`;
//   4. JUPYTERHUB_SERVICE_NAME, and with a `url` JUPYTERHUB_SERVICE_URL (the url itself) and
//      JUPYTERHUB_SERVICE_PREFIX (<base_url>services/<name>/): JupyterHub sets these over
//      `environment`;
//   5. USER, HOME and SHELL of the service's system `user` when it has one.
#include <map>
#include <string>

#include "core/result.hpp"
#include "hub/services.hpp"
#include "spawn/process.hpp"
#include "spawn/spawn_env.hpp"

namespace nbhub::hub {

struct ServiceEnvContext {
  std::string api_url;   // the hub API as a local process reaches it: http://127.0.0.1:8081/hub/api
  std::string base_url;  // JUPYTERHUB_BASE_URL: "/" or "/jupyter/"
};

// Errc::config naming the service and variable for a name or value execve cannot carry.
Result<std::map<std::string, std::string>> service_environment(Service const& s, ServiceEnvContext const& ctx,
                                                                spawn::SystemUser const* user,
                                                                spawn::EnvLookup const& lookup);

}  // namespace nbhub::hub
