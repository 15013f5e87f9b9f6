#pragma once
// The spawner's slice of the configuration (STYLE.md §5). Field names follow JupyterHub's
// `Spawner` / `LocalProcessSpawner` traits so the jupyterhub_config.py importer maps them
// one to one (c.Spawner.cmd -> cmd, c.LocalProcessSpawner.term_timeout -> term_timeout, ...).
// Plain data with no includes from nbhub, so the lead may move it under config/ unchanged.
#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace nbhub::spawn {

// A file or directory of the hub's own, as named in messages: {"cookie_secret_file", "/srv/x"}.
struct HubStatePath {
  std::string what;
  std::string path;
};

struct SpawnerConfig {
  // The single-user command and its extra arguments. Since JupyterHub 2.0 the hub adds no
  // arguments of its own: port, ip and base URL travel in the environment (spec §1.1).
  std::vector<std::string> cmd{"jupyterhub-singleuser"};
  std::vector<std::string> args;

  // Set last, so it overrides anything (spec §1.1). Values may contain {username},
  // {servername} and {base_url}; nothing else in them is interpreted (JSON values pass).
  std::map<std::string, std::string> environment;

  // Copied from nbhub's own environment when set there. JupyterHub 3.0-5.0's default list;
  // 5.4 keeps only JUPYTERHUB_SINGLEUSER_APP (spec §1.1). Never lists a hub secret.
  std::vector<std::string> env_keep{"PATH",      "PYTHONPATH", "CONDA_ROOT", "CONDA_DEFAULT_ENV",
                                    "VIRTUAL_ENV", "LANG",     "LC_ALL",
                                    "JUPYTERHUB_SINGLEUSER_APP"};

  std::string notebook_dir;  // -> JUPYTERHUB_ROOT_DIR, templated; "" = the server's default
  std::string default_url;   // -> JUPYTERHUB_DEFAULT_URL, templated; "" = the server's default

  // How long Spawner::start may take (JupyterHub: image pulls, batch queues). Enforced by
  // SpawnQueue around start().
  std::chrono::seconds start_timeout{60};
  // How long after start() the server has to answer HTTP (spec §1.7).
  std::chrono::seconds http_timeout{30};
  // How often the hub polls a running server (used by hub/, not by the spawner itself).
  std::chrono::seconds poll_interval{30};

  // Spawns in progress (start + readiness) at once; more wait in a FIFO queue. 0 = no limit.
  std::size_t concurrent_spawn_limit = 100;
  // Running plus spawning servers; a spawn beyond it is refused. 0 = no limit.
  std::size_t active_server_limit = 0;
  // LocalSpawner: servers starting at once on this machine (launched, not yet answering);
  // further spawns wait in the queue like those beyond concurrent_spawn_limit. 0 = twice the
  // number of CPU cores (Spawner::start_limit()).
  std::size_t local_start_limit = 0;

  // LocalSpawner: run each server as the system user of the same name (setgid, initgroups,
  // setuid; HOME, USER, SHELL from the password database; cwd = home). nbhub must be root.
  // Off: every server runs as nbhub's own user, which suits one-user and test setups only.
  bool run_as_system_user = false;

  // LocalSpawner without system users (JupyterHub's SimpleLocalProcessSpawner): each user's
  // home, made private (0700) before the server starts, is the server's working directory
  // (so its root dir, unless notebook_dir says otherwise) and its HOME. Only {username} is
  // replaced, by the user name escaped to one path component (user_home.hpp). A relative path
  // is relative to nbhub's working directory; the hub hands it over already resolved against
  // data_dir.
  std::string home_dir_template = "homes/{username}";
  // LocalSpawner without system users: the hub's own files and directories (working
  // directory, data_dir, cookie secret, database, log_dir). A spawn whose home, or whose
  // notebook_dir, would contain one of them is refused.
  std::vector<HubStatePath> hub_state;
  // LocalSpawner: whether servers may run as root, when nbhub is root and run_as_system_user
  // is off. Without it (or "--allow-root" in args, JupyterHub's way) such spawns are refused:
  // a root server can read every secret of the hub and change anything on the machine.
  bool allow_root_servers = false;

  // LocalSpawner: one log file per server, <log_dir>/<user>[-<server>].log, mode 0600, appended
  // to across restarts. A relative path is relative to nbhub's working directory.
  std::string log_dir = "server-logs";

  // LocalSpawner: the address servers bind to; the hub connects to it (0.0.0.0 and :: are
  // reached via loopback).
  std::string ip = "127.0.0.1";

  // LocalSpawner::stop: SIGINT, then after interrupt_timeout SIGTERM, then after term_timeout
  // SIGKILL, then after kill_timeout give up with an error (JupyterHub's LocalProcessSpawner
  // interrupt_timeout / term_timeout / kill_timeout). SIGINT first because that is the signal
  // under which jupyter-server shuts its kernels down cleanly when it has no terminal.
  std::chrono::seconds interrupt_timeout{10};
  std::chrono::seconds term_timeout{5};
  std::chrono::seconds kill_timeout{5};
};

}  // namespace nbhub::spawn
