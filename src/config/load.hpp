#pragma once
// The public entry point for main(): read the configuration from every layer and check it.
//
//   built-in defaults < config file < environment (NBHUB_*) < command-line flags
//
// The config file is nbhub.toml (TOML, config/toml_loader.hpp) or a jupyterhub_config.py
// (config/pyconfig.hpp; chosen by a ".py" suffix). JupyterHub-compatible variables
// (OAUTH_CLIENT_ID, OAUTH2_TOKEN_URL, CUSTOS_HOST, ...) fill provider options that no layer set;
// see docs/config.md.
//
// main() prints every diagnostic (Diagnostic::to_string) and exits 2 when !ok().
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/cli.hpp"
#include "config/config.hpp"
#include "config/diagnostic.hpp"
#include "config/provenance.hpp"
#include "config/z2jh.hpp"

namespace nbhub::config {

struct Loaded {
  HubConfig hub;
  std::vector<Diagnostic> diagnostics;  // errors and warnings, every one found
  std::string config_file;              // the file read; "" when only defaults applied
  // Set when the file was zero-to-jupyterhub's jupyterhub_config.py (config/z2jh.hpp): the
  // secrets it hands the process and the summary to log.
  std::optional<Z2jhOutcome> z2jh;
  Provenance provenance;                // where each value came from (unset: its default)
  bool ok() const;                      // no errors (warnings allowed)
};

// Reads cli.config_file, or default_config_file(current directory) when none was given.
Loaded load(CliInvocation const& cli, std::map<std::string, std::string> const& env);

enum class ConfigFormat { toml, jupyterhub_py, z2jh };

struct ConfigSource {
  std::string file;  // the name used in diagnostics
  ConfigFormat format = ConfigFormat::toml;
  std::string text;
};

// load() without the file system: the layers over `source` (std::nullopt = no file).
Loaded load_from(std::optional<ConfigSource> const& source, CliInvocation const& cli,
                 std::map<std::string, std::string> const& env);

// "nbhub.toml" in `dir` if it exists, else "jupyterhub_config.py" if it exists, else nullopt.
std::optional<std::string> default_config_file(std::filesystem::path const& dir);

// ".py" -> jupyterhub_py, else toml. load() then picks z2jh for a z2jh config (is_z2jh_config).
ConfigFormat format_for(std::string_view path);

// The process environment as a map (for main: load(cli, current_environment())).
std::map<std::string, std::string> current_environment();

}  // namespace nbhub::config
