#pragma once
// z2jh mode: nbhub as the hub image of the zero-to-jupyterhub Helm chart, chart unchanged
// (spec/kubernetes.md §5.2). The chart starts `jupyterhub --config
// /usr/local/etc/jupyterhub/jupyterhub_config.py`; that file is the chart's own Python, which
// nbhub never parses. Instead, from the directory holding it:
//
//   1. secret/values.yaml, deep-merged with existing-secret/values.yaml (z2jh_values.hpp);
//   2. what the chart's jupyterhub_config.py does with them (spec §1.10, §1.11), from the one
//      mapping table in z2jh_mapping.cpp, written as the same `c.Section.trait = value`
//      assignments the Python would make, plus nbhub options where nbhub has its own
//      (the culler, the external proxy, the database);
//   3. hub.config.<Section>.<trait> (minus the secrets the chart seeds itself);
//   4. jupyterhub_config.d/*.py, sorted, then hub.extraConfig entries sorted by key, through
//      the literal-subset reader (config/pyconfig_parser.hpp).
// 2-4 go through the jupyterhub_config.py trait importer in one pass (import_assignments), so
// a later assignment wins exactly as in the chart's Python. The paths /usr/local/etc/jupyterhub
// and /srv/jupyterhub are never named: the first is the config file's directory, the second the
// working directory (the image's WORKDIR), so tests lay the pod out anywhere.
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/builder.hpp"

namespace nbhub::config {

// The config file is z2jh's: its text imports z2jh, or z2jh.py and secret/values.yaml sit
// beside it.
bool is_z2jh_config(std::filesystem::path const& file, std::string_view text);

struct Z2jhOutcome {
  // Secrets the chart hands the hub process, as variables for it (the file layer of nbhub's
  // precedence: an NBHUB_* variable of the pod still wins): JUPYTERHUB_COOKIE_SECRET (hex),
  // JUPYTERHUB_CRYPT_KEY (`;`-joined keys), PGPASSWORD. Never logged.
  std::map<std::string, std::string> secret_env;
  // Where each secret came from, for messages: "JUPYTERHUB_CRYPT_KEY" -> "secret file
  // hub.config.CryptKeeper.keys".
  std::map<std::string, std::string> secret_source;
  std::vector<std::string> summary;  // z2jh_summary() of the final configuration
};

// Reads the pod's files next to `config_file` into `b` (file layer). Every problem becomes a
// diagnostic naming the values key or the file and line: a missing values.yaml, a hub.config
// section not starting upper-case, Python in extraConfig the reader cannot read.
// jupyterhub_config.d/*.py and hub.extraConfig run in Python as config_python says
// (config/pyconfig.hpp): then over the chart's settings, with z2jh's helpers reading the values.
Z2jhOutcome load_z2jh(std::filesystem::path const& config_file,
                      std::map<std::string, std::string> const& env, ConfigBuilder& b,
                      PythonSettings const& python = {});

// What nbhub derived, one "key = value" line each, for the startup log (after every layer):
// the hub options z2jh mode sets and every spawner option. Secret traits show [redacted], the
// environment only its names, a PostgreSQL db_url only its scheme.
std::vector<std::string> z2jh_summary(HubConfig const& hub);

}  // namespace nbhub::config
