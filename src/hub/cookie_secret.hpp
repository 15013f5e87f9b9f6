#pragma once
// The hub's cookie secret: from NBHUB_COOKIE_SECRET / JUPYTERHUB_COOKIE_SECRET (hex), else
// from cookie_secret_file, else generated and written to that file with mode 0600. Like
// JupyterHub, a file readable by group or others is refused.
#include <map>
#include <string>

#include "core/random.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"

namespace nbhub::hub {

Result<Secret> load_or_create_cookie_secret(std::string const& path,
                                            std::map<std::string, std::string> const& env,
                                            Random& random);

}  // namespace nbhub::hub
