#pragma once
// nbhub's command line (CLI11 2.1): the flags of `jupyterhub` that make sense for nbhub, plus a
// slot for subcommands (`nbhub proxy ...`, `nbhub token ...`, `nbhub db upgrade`) whose own
// parsing belongs to their owners: everything from the first word that is not an option on is
// handed over untouched.
//
//   nbhub [-f/--config FILE] [--ip IP] [--port PORT] [--db URL] [--log-level L] [--debug]
//         [--base-url PATH] [--url BIND_URL] [--ssl-cert FILE] [--ssl-key FILE]
//   nbhub --generate-config [-f FILE] [--format toml|markdown] [-y/--answer-yes]
//   nbhub --version | -h/--help
//   nbhub SUBCOMMAND [ARGS...]
//
// Invoked as `jupyterhub` (argv[0], e.g. the /usr/local/bin/jupyterhub symlink of the z2jh
// image, spec/kubernetes.md §5.2), the same flags plus JupyterHub's: --upgrade-db (nbhub
// upgrades its schema at every start anyway), --version printing JupyterHub's version line, and
// --Class.trait=value flags, which are dropped with a warning (the config file holds traits).
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace nbhub::config {

struct CliInvocation {
  enum class Action { run, generate_config, version, help, subcommand };
  Action action = Action::run;

  // -f/--config: the configuration file to read (run), or the file to write (generate_config;
  // "-" is standard output). Unset: see default_config_file() in load.hpp.
  std::optional<std::string> config_file;

  // Flag overrides, the top layer of configuration. Unset = not given. They are text; load()
  // checks them like any other layer and reports "command line: --port: ...".
  std::optional<std::string> ip;         // --ip
  std::optional<std::string> port;       // --port
  std::optional<std::string> db_url;     // --db
  std::optional<std::string> log_level;  // --log-level (also 10..50, as JupyterHub)
  std::optional<std::string> base_url;   // --base-url
  std::optional<std::string> bind_url;   // --url: sets ip, port and base_url together
  std::optional<std::string> ssl_cert;   // --ssl-cert
  std::optional<std::string> ssl_key;    // --ssl-key
  bool debug = false;                    // --debug: log_level = debug (wins over --log-level)

  bool answer_yes = false;               // -y/--answer-yes: overwrite without asking
  bool jupyterhub_mode = false;          // invoked as `jupyterhub`
  bool upgrade_db = false;               // --upgrade-db (jupyterhub mode): accepted, a no-op
  std::vector<std::string> warnings;     // flags dropped in jupyterhub mode, for stderr
  std::string generate_format = "toml";  // --format for --generate-config: toml | markdown

  // Action::subcommand: the first non-option word and everything after it.
  std::string subcommand;
  std::vector<std::string> subcommand_args;
};

struct Subcommand {
  std::string name;
  std::string summary;  // one line for --help
};

// The subcommands listed in --help and accepted by parse_cli: proxy, token, db.
std::span<const Subcommand> default_subcommands();

// `args` excludes the program name. Usage errors (unknown option, missing value, unknown
// subcommand) come back as Errc::config with a message for the user; print it with
// usage_error().
Result<CliInvocation> parse_cli(std::vector<std::string> const& args,
                                std::span<const Subcommand> subcommands = default_subcommands());
// Picks jupyterhub mode from argv[0]'s basename.
Result<CliInvocation> parse_cli(int argc, char const* const* argv,
                                std::span<const Subcommand> subcommands = default_subcommands());
// `args` of a `jupyterhub` invocation (without the program name).
Result<CliInvocation> parse_jupyterhub_cli(std::vector<std::string> const& args);

// The process exit code helpers main() returns.
int print_help(std::ostream& out, std::span<const Subcommand> subcommands = default_subcommands());
int print_version(std::ostream& out);                 // "nbhub 0.1.0"; returns 0
// jupyterhub mode: JupyterHub's own line (just the version nbhub reports to servers and tools,
// "3.0.0") on `out`, and which program answered on `err`. Returns 0.
int print_jupyterhub_version(std::ostream& out, std::ostream& err);
int usage_error(Error const& e, std::ostream& err);   // message + "--help" hint; returns 2

// --generate-config: writes generate_config() (or the Markdown reference with --format markdown)
// to cli.config_file, default "nbhub.toml" ("-" or markdown without -f: `out`). An existing file
// is only replaced after a "y" on `in`, or with -y. Returns 0, 1 when the user declines, 2 when
// writing fails.
int generate_config_command(CliInvocation const& cli, std::istream& in, std::ostream& out,
                            std::ostream& err);

}  // namespace nbhub::config
