// nbhub: a multi-user Jupyter notebook hub in one binary. See README.md.
#include <cstdlib>
#include <iostream>

#include "app/acme_command.hpp"
#include "app/db_command.hpp"
#include "app/hub_app.hpp"
#include "app/import_jupyterhub_command.hpp"
#include "app/proxy_command.hpp"
#include "app/token_command.hpp"
#include "config/cli.hpp"
#include "config/load.hpp"
#include "core/random.hpp"
#include "store/crypt_keeper.hpp"

namespace {

// z2jh mode: the chart's secrets become the process's variables (config/z2jh.hpp), after the
// auth_state keys were checked here, where a bad key can be named by its secret file.
bool apply_z2jh(nbhub::config::Z2jhOutcome const& z, std::map<std::string, std::string>& env) {
  using namespace nbhub;
  std::cerr << "nbhub: z2jh mode: read the zero-to-jupyterhub chart's values instead of its "
               "jupyterhub_config.py; derived:\n";
  for (auto const& line : z.summary) std::cerr << "nbhub: z2jh:   " << line << "\n";
  for (auto const& [name, value] : z.secret_env) {
    auto const& source = z.secret_source.at(name);
    if (name == "JUPYTERHUB_CRYPT_KEY") {
      OpenSslRandom random;
      if (auto keys = store::CryptKeeper::from_keys(source, value, random); !keys) {
        std::cerr << "nbhub: " << keys.error().message << "\n";
        return false;
      }
    }
    // libpq reads PGPASSWORD from the process environment, as the chart's Python sets it.
    if (name == "PGPASSWORD") ::setenv(name.c_str(), value.c_str(), 1);
    env[name] = value;
    std::cerr << "nbhub: z2jh:   " << name << " from " << source << "\n";
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace nbhub;
  auto cli = config::parse_cli(argc, argv);
  if (!cli) return config::usage_error(cli.error(), std::cerr);
  for (auto const& w : cli->warnings) std::cerr << "warning: " << w << "\n";
  switch (cli->action) {
    case config::CliInvocation::Action::version:
      return cli->jupyterhub_mode ? config::print_jupyterhub_version(std::cout, std::cerr)
                                  : config::print_version(std::cout);
    case config::CliInvocation::Action::help: return config::print_help(std::cout);
    case config::CliInvocation::Action::generate_config:
      return config::generate_config_command(*cli, std::cin, std::cout, std::cerr);
    case config::CliInvocation::Action::subcommand:
      if (cli->subcommand == "proxy") return app::run_proxy_command(cli->subcommand_args);
      if (cli->subcommand == "token" && !cli->subcommand_args.empty() &&
          (cli->subcommand_args[0] == "client-credentials" || cli->subcommand_args[0] == "verify")) {
        auto loaded = config::load(*cli, config::current_environment());
        for (auto const& d : loaded.diagnostics) std::cerr << d.to_string() << "\n";
        if (!loaded.ok()) return 2;
        return app::run_token_command(loaded.hub, cli->subcommand_args);
      }
      if (cli->subcommand == "import-jupyterhub-db") {
        auto loaded = config::load(*cli, config::current_environment());
        for (auto const& d : loaded.diagnostics) std::cerr << d.to_string() << "\n";
        if (!loaded.ok()) return 2;
        return app::run_import_jupyterhub_command(loaded.hub, cli->subcommand_args);
      }
      if (cli->subcommand == "acme") {
        auto loaded = config::load(*cli, config::current_environment());
        for (auto const& d : loaded.diagnostics) std::cerr << d.to_string() << "\n";
        if (!loaded.ok()) return 2;
        return app::run_acme_command(loaded.hub, cli->subcommand_args);
      }
      if (cli->subcommand == "db") {
        auto loaded = config::load(*cli, config::current_environment());
        for (auto const& d : loaded.diagnostics) std::cerr << d.to_string() << "\n";
        if (!loaded.ok()) return 2;
        return app::run_db_command(loaded.hub, cli->subcommand_args);
      }
      std::cerr << "nbhub: the subcommand '" << cli->subcommand << "' is not available yet\n";
      return 2;
    case config::CliInvocation::Action::run: break;
  }
  auto env = config::current_environment();
  auto loaded = config::load(*cli, env);
  for (auto const& d : loaded.diagnostics) std::cerr << d.to_string() << "\n";
  if (!loaded.ok()) {
    std::cerr << "nbhub: not starting because of the configuration errors above\n";
    return 2;
  }
  // A reload reads every layer again with these flags and this environment (as it was before
  // z2jh mode added the chart's secrets to it, like the first load).
  app::ReloadSource reload{loaded.provenance, loaded.config_file,
                           [cli = *cli, env]() { return config::load(cli, env); }, {}};
  if (loaded.z2jh && !apply_z2jh(*loaded.z2jh, env)) return 2;
  return app::run_hub(loaded.hub, env, std::move(reload));
}
