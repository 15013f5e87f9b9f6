#include "config/cli.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "config/config.hpp"
#include "config/generate.hpp"
#include "config/text.hpp"

#ifndef NBHUB_VERSION
#define NBHUB_VERSION "0.0.0"
#endif

namespace nbhub::config {

namespace {

// The flags, bound to plain strings; `given` tells which were on the command line.
struct Flags {
  std::string config, ip, port, db, log_level, base_url, bind_url, ssl_cert, ssl_key;
  std::string format = "toml";
  bool debug = false, generate = false, version = false, yes = false;
};

void describe_app(CLI::App& app, Flags& f) {
  app.set_help_flag("-h,--help", "Show this help and exit");
  app.add_option("-f,--config", f.config,
                 "Config file: nbhub.toml, or a jupyterhub_config.py to import "
                 "(default: ./nbhub.toml, else ./jupyterhub_config.py)")
      ->type_name("FILE");
  app.add_option("--ip", f.ip, "Public listener address (ip)")->type_name("IP");
  app.add_option("--port", f.port, "Public listener port (port)")->type_name("PORT");
  app.add_option("--db", f.db, "Database URL (db_url)")->type_name("URL");
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error, critical")
      ->type_name("LEVEL");
  app.add_flag("--debug", f.debug, "Same as --log-level=debug");
  app.add_option("--base-url", f.base_url, "URL prefix of the hub (base_url)")->type_name("PATH");
  app.add_option("--url", f.bind_url, "Public URL to bind, as JupyterHub's bind_url")
      ->type_name("URL");
  app.add_option("--ssl-cert", f.ssl_cert, "TLS certificate for the public listener")
      ->type_name("FILE");
  app.add_option("--ssl-key", f.ssl_key, "TLS key for the public listener")->type_name("FILE");
  app.add_flag("--generate-config", f.generate,
               "Write a commented nbhub.toml with every option and its default (-f FILE)");
  app.add_option("--format", f.format, "With --generate-config: toml or markdown")
      ->check(CLI::IsMember({"toml", "markdown"}));
  app.add_flag("-y,--answer-yes", f.yes, "Answer yes to questions (overwrite files)");
  app.add_flag("--version", f.version, "Print the version and exit");
  app.prefix_command();  // the first positional word starts a subcommand; the rest is its own
}

std::optional<std::string> given(CLI::App& app, char const* name, std::string const& v) {
  return app.count(name) > 0 ? std::optional<std::string>(v) : std::nullopt;
}

Error usage(std::string msg) { return make_error(Errc::config, std::move(msg)); }

}  // namespace

std::span<const Subcommand> default_subcommands() {
  static const std::vector<Subcommand> s = {
      {"proxy", "Run only the proxy (configurable-http-proxy compatible flags)"},
      {"token", "Create or list API tokens"},
      {"db", "Database maintenance (db upgrade)"},
      {"acme", "Get or renew the [tls.acme] certificate now (acme --once), or keep it renewed"},
      {"import-jupyterhub-db", "Import users, groups and API tokens from a JupyterHub SQLite file"},
  };
  return s;
}

Result<CliInvocation> parse_cli(int argc, char const* const* argv,
                                std::span<const Subcommand> subcommands) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  if (argc > 0 && argv[0] && std::filesystem::path(argv[0]).filename() == "jupyterhub")
    return parse_jupyterhub_cli(args);
  return parse_cli(args, subcommands);
}

namespace {

// traitlets' --Class.trait=value (or --Class.trait value): a class name, a dot, a trait.
bool is_trait_flag(std::string_view a) {
  if (!a.starts_with("--") || a.size() < 5) return false;
  auto name = a.substr(2, a.find('=') == std::string_view::npos ? std::string_view::npos
                                                                 : a.find('=') - 2);
  auto dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  });
}

}  // namespace

Result<CliInvocation> parse_jupyterhub_cli(std::vector<std::string> const& args) {
  std::vector<std::string> kept, warnings;
  bool upgrade_db = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto const& a = args[i];
    if (a == "--upgrade-db") {
      upgrade_db = true;
    } else if (is_trait_flag(a)) {
      // A value given as the next word belongs to the flag, unless it looks like a flag.
      bool takes_next = a.find('=') == std::string::npos && i + 1 < args.size() &&
                        !args[i + 1].starts_with("-");
      auto name = a.substr(0, a.find('='));
      warnings.push_back(fmt::format(
          "jupyterhub: ignoring {}: nbhub reads traits from the config file, not from the command "
          "line",
          name));
      if (takes_next) ++i;
    } else {
      kept.push_back(a);
    }
  }
  // Subcommands of jupyterhub (upgrade-db, token, ...) are not nbhub's: no subcommand here.
  auto inv = parse_cli(kept, {});
  if (!inv) return inv;
  inv->jupyterhub_mode = true;
  inv->upgrade_db = upgrade_db;
  inv->warnings = std::move(warnings);
  return inv;
}

Result<CliInvocation> parse_cli(std::vector<std::string> const& args,
                                std::span<const Subcommand> subcommands) {
  CLI::App app{"nbhub: a multi-user Jupyter hub", "nbhub"};
  Flags f;
  describe_app(app, f);
  std::vector<char const*> argv{"nbhub"};
  for (auto const& a : args) argv.push_back(a.c_str());

  CliInvocation inv;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (CLI::CallForHelp const&) {
    inv.action = CliInvocation::Action::help;
    return inv;
  } catch (CLI::ParseError const& e) {
    return usage(e.what());
  }

  auto rest = app.remaining();
  if (!rest.empty()) {
    // prefix_command() leaves unknown options in `remaining` too; they are errors, not words.
    for (auto const& r : rest) {
      if (!r.starts_with("-")) break;
      if (r.find('.') != std::string::npos && r.starts_with("--"))
        return usage(fmt::format(
            "unknown option {}: JupyterHub's --Class.trait=value flags are not supported; set the "
            "option in nbhub.toml or the environment (NBHUB_*)",
            r));
      return usage("unknown option " + r);
    }
    std::vector<std::string> names;
    for (auto const& s : subcommands) names.push_back(s.name);
    if (std::find(names.begin(), names.end(), rest.front()) == names.end())
      return usage(fmt::format("unknown command {}{}", dquoted(rest.front()),
                               did_you_mean(rest.front(), names)));
    inv.action = CliInvocation::Action::subcommand;
    inv.subcommand = rest.front();
    inv.subcommand_args.assign(rest.begin() + 1, rest.end());
  } else if (f.version) {
    inv.action = CliInvocation::Action::version;
  } else if (f.generate) {
    inv.action = CliInvocation::Action::generate_config;
  }
  if (app.count("--format") > 0 && !f.generate)
    return usage("--format only applies to --generate-config");

  inv.config_file = given(app, "--config", f.config);
  inv.ip = given(app, "--ip", f.ip);
  inv.port = given(app, "--port", f.port);
  inv.db_url = given(app, "--db", f.db);
  inv.log_level = given(app, "--log-level", f.log_level);
  inv.base_url = given(app, "--base-url", f.base_url);
  inv.bind_url = given(app, "--url", f.bind_url);
  inv.ssl_cert = given(app, "--ssl-cert", f.ssl_cert);
  inv.ssl_key = given(app, "--ssl-key", f.ssl_key);
  inv.debug = f.debug;
  inv.answer_yes = f.yes;
  inv.generate_format = f.format;
  return inv;
}

int print_help(std::ostream& out, std::span<const Subcommand> subcommands) {
  CLI::App app{"nbhub: a multi-user Jupyter hub", "nbhub"};
  Flags f;
  describe_app(app, f);
  out << app.help();
  if (!subcommands.empty()) {
    out << "Subcommands (nbhub SUBCOMMAND --help for their options):\n";
    for (auto const& s : subcommands) out << fmt::format("  {:<10} {}\n", s.name, s.summary);
  }
  out << "\nConfiguration: built-in defaults < config file < NBHUB_* environment < flags.\n"
         "See docs/config.md, or `nbhub --generate-config -f -`.\n";
  return 0;
}

int print_version(std::ostream& out) {
  out << "nbhub " << NBHUB_VERSION << "\n";
  return 0;
}

int print_jupyterhub_version(std::ostream& out, std::ostream& err) {
  out << HubConfig{}.jupyterhub_version << "\n";
  err << "nbhub " << NBHUB_VERSION << " (answering as jupyterhub; reports JupyterHub "
      << HubConfig{}.jupyterhub_version << " to servers and tools)\n";
  return 0;
}

int usage_error(Error const& e, std::ostream& err) {
  err << "nbhub: " << e.message << "\nRun `nbhub --help` for usage.\n";
  return 2;
}

int generate_config_command(CliInvocation const& cli, std::istream& in, std::ostream& out,
                            std::ostream& err) {
  bool const markdown = cli.generate_format == "markdown";
  std::string const text = markdown ? generate_markdown() : generate_config();
  std::string path = cli.config_file.value_or(markdown ? "-" : "nbhub.toml");
  if (path == "-") {
    out << text;
    return 0;
  }
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !cli.answer_yes) {
    out << "Overwrite " << path << " with the default config? [y/N] " << std::flush;
    std::string answer;
    std::getline(in, answer);
    auto a = to_lower(trim(answer));
    if (a != "y" && a != "yes") {
      out << "Not overwriting " << path << ".\n";
      return 1;
    }
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) {
    err << "nbhub: cannot write " << path << "\n";
    return 2;
  }
  out << "Writing default config to: " << path << "\n";
  return 0;
}

}  // namespace nbhub::config
