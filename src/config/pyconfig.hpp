#pragma once
// The jupyterhub_config.py importer: reads the file without running Python
// (config/pyconfig_parser.hpp) and maps its traits to nbhub options through the tables in
// config/pyconfig_tables.hpp. JupyterHub.authenticator_class creates the single provider, named
// "default"; traits of the authenticator's classes apply in traitlets' order (a subclass section
// beats its base, e.g. GenericOAuthenticator.x beats OAuthenticator.x, whatever the line order).
// Known but unsupported traits and unknown ones are warnings with a spelling suggestion; values
// nbhub cannot read, and classes it does not know, are errors.
#include <map>
#include <string>
#include <string_view>

#include "config/builder.hpp"

namespace nbhub::config {

// `env` answers os.environ lookups in the file. Values land in the file layer of `b`.
void import_pyconfig(std::string_view text, std::string const& file,
                     std::map<std::string, std::string> const& env, ConfigBuilder& b);

}  // namespace nbhub::config
