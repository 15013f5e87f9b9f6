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
#include <vector>

#include "config/builder.hpp"
#include "config/pyconfig_parser.hpp"
#include "config/pyeval.hpp"

namespace nbhub::config {

// `env` answers os.environ lookups in the file. Values land in the file layer of `b`.
// `python` (config_python and python.*) says whether the file is run by Python
// (config/pyeval.hpp): "always", or "auto" when the literal reader cannot read every line and
// python.executable is found in env's PATH. Python's values then go through the same tables.
void import_pyconfig(std::string_view text, std::string const& file,
                     std::map<std::string, std::string> const& env, ConfigBuilder& b,
                     PythonSettings const& python = {});

// Python's outcome (config/pyeval.hpp) into `b`: its diagnostics, hook callables (recorded in
// HubConfig::python, or errors for traits nbhub cannot call yet), then the trait mapping.
// False when the evaluation failed.
// `before` (z2jh: the chart's settings) is imported first, in one pass with Python's values.
bool import_python_outcome(pyeval::Outcome outcome, std::string const& file, ConfigBuilder& b,
                           std::vector<py::Assignment> before = {});

// The hook traits the helper can call, as "trait" names of a spawner section.
bool is_supported_hook(std::string_view section, std::string_view trait);

// The trait mapping alone, over assignments already read (py::parse) from one or more sources,
// as if they were one file in this order: a later assignment wins, and authenticator_class and
// spawner_class are taken from the merged result. z2jh mode (config/z2jh.hpp) feeds it the
// chart's own settings, hub.config.*, jupyterhub_config.d/*.py and hub.extraConfig together.
// `file` names assignments whose own `file` is empty.
void import_assignments(std::vector<py::Assignment> const& assignments, std::string const& file,
                        ConfigBuilder& b);

}  // namespace nbhub::config
