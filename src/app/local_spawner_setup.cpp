#include "app/local_spawner_setup.hpp"

#include <algorithm>
#include <filesystem>

#include "spawn/local_spawner.hpp"
#include "store/store_url.hpp"

namespace nbhub::app {

namespace fs = std::filesystem;

namespace {

std::string absolute(std::string const& p) {
  std::error_code ec;
  auto abs = fs::absolute(p, ec);
  return ec ? p : abs.lexically_normal().string();
}

bool has_allow_root(std::vector<std::string> const& args) {
  return std::find(args.begin(), args.end(), "--allow-root") != args.end();
}

}  // namespace

spawn::SpawnerConfig local_spawner_config(config::HubConfig const& cfg,
                                          config::SpawnerSettings const& settings,
                                          spawn::SpawnerConfig base, uid_t euid) {
  auto& c = base;
  fs::path tmpl(settings.home_dir_template);
  c.home_dir_template = tmpl.is_absolute() || settings.home_dir_template.empty()
                            ? settings.home_dir_template
                            : (fs::path(cfg.data_dir) / tmpl).string();
  c.allow_root_servers = settings.allow_root_servers;
  c.ip = settings.ip;
  std::error_code ec;
  auto cwd = fs::current_path(ec);
  if (!ec) c.hub_state.push_back({"working directory", cwd.string()});
  c.hub_state.push_back({"data_dir", absolute(cfg.data_dir)});
  c.hub_state.push_back({"cookie_secret_file", absolute(cfg.cookie_secret_file)});
  if (auto db = store::StoreUrl::parse(cfg.db_url);
      db && db->kind == store::StoreUrl::Kind::sqlite_file)
    c.hub_state.push_back({"database", absolute(db->path)});
  c.hub_state.push_back({"spawner.log_dir", absolute(settings.log_dir)});
  if (euid == 0 && !c.run_as_system_user && c.allow_root_servers && !has_allow_root(c.args))
    c.args.push_back("--allow-root");
  return c;
}

void log_local_spawner(spawn::SpawnerConfig const& c, uid_t euid, spdlog::logger& log) {
  if (!c.run_as_system_user)
    log.info("local spawner: servers run as nbhub's own user, each in a home of its own ({})",
             c.home_dir_template);
  if (auto ok = spawn::check_root_servers(c, euid); !ok)
    log.warn("every spawn will be refused: {}", ok.error().message);
  else if (euid == 0 && !c.run_as_system_user)
    log.warn("nbhub runs as root and spawner.run_as_system_user is off: servers run as root "
             "too, with --allow-root (allowed by {})",
             c.allow_root_servers ? "spawner.allow_root_servers" : "--allow-root in spawner.args");
}

}  // namespace nbhub::app
