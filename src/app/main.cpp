// nbhub: a multi-user Jupyter notebook hub in one binary. See README.md.
#include <iostream>

#include "app/db_command.hpp"
#include "app/hub_app.hpp"
#include "app/import_jupyterhub_command.hpp"
#include "app/proxy_command.hpp"
#include "app/token_command.hpp"
#include "config/cli.hpp"
#include "config/load.hpp"

int main(int argc, char** argv) {
  using namespace nbhub;
  auto cli = config::parse_cli(argc, argv);
  if (!cli) return config::usage_error(cli.error(), std::cerr);
  switch (cli->action) {
    case config::CliInvocation::Action::version: return config::print_version(std::cout);
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
  return app::run_hub(loaded.hub, env);
}
