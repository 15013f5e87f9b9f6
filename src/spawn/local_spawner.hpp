#pragma once
// LocalSpawner: single-user servers as local processes, JupyterHub's LocalProcessSpawner.
//
// start(): on the blocking pool, looks up the system user (run_as_system_user), picks a free
// port, builds the environment (spawn_env.hpp) and runs `cmd + args` through the
// ProcessRunner: own session and process group, stdout+stderr appended to
// <log_dir>/<user>[-<server>].log (0600, owned by nbhub; the server writes through the
// inherited descriptor), as the system user with HOME/USER/SHELL and cwd = home, or as nbhub's
// own user in a home of the user's own, made private (0700) from home_dir_template, with
// HOME/USER/SHELL as SimpleLocalProcessSpawner (user_home.hpp says what that does and does not
// isolate). No extra command-line options: singleuser 3.0 reads port, ip, base URL, root dir
// and default URL from JUPYTERHUB_* (spec §1.3).
//
// Refused before anything runs (Errc::config): a server that would run as root without
// allow_root_servers (check_root_servers), and, without system users, a home or notebook_dir
// that would hold one of the hub's own files (hub_state).
//
// Port race: the port is found by binding port 0 and closing the socket; another process may
// take it before the server binds. Singleuser runs with port_retries=0 (spec §1.3), so it
// then exits at once and wait_until_ready reports "exited with status 1"; the hub may retry.
//
// State (persisted by the hub): {"pid", "pgid", "port", "ip", "started_at" (unix seconds),
// "start_ticks" (tells a reused PID apart), "log", "log_offset"}.
//
// poll(): waitpid(WNOHANG) for our children, kill(pid, 0) and /proc for adopted processes.
// stop(): SIGINT to the process group, interrupt_timeout, SIGTERM, term_timeout, SIGKILL,
// kill_timeout (LocalProcessSpawner's order); waits with timers on the caller's executor.
// Kernels that Jupyter starts in sessions of their own are outside the group: the server shuts
// them down on SIGINT or SIGTERM; after a SIGKILL they notice their parent is
// gone (ipykernel's parent poller) and exit by themselves.
#include <boost/asio/thread_pool.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "spawn/process.hpp"
#include "spawn/spawn_env.hpp"
#include "spawn/spawner.hpp"
#include "core/snapshot.hpp"
#include "spawn/spawner_config.hpp"

namespace spdlog { class logger; }

namespace nbhub::spawn {

class LocalSpawner final : public Spawner {
 public:
  // References must outlive the spawner; the spawner must outlive every call in flight.
  // `env` reads nbhub's environment for env_keep.
  LocalSpawner(SpawnerConfig cfg, ProcessRunner& runner, boost::asio::thread_pool& pool,
               Clock const& clock, spdlog::logger& log, EnvLookup env = process_env_lookup());

  net::awaitable<Result<Started>> start(SpawnRequest req, ProgressSink& sink) override;
  net::awaitable<std::optional<int>> poll(boost::json::object state) override;
  net::awaitable<Result<void>> stop(boost::json::object state, bool now) override;
  Result<void> adopt(boost::json::object const& state) override;
  net::awaitable<std::string> output_tail(boost::json::object state) override;
  // A configuration reload: starts from now on use `next` (command, arguments, environment,
  // homes, ...); servers already running keep what they were started with. Thread-safe.
  void set_config(SpawnerConfig next) { cfg_.store(std::move(next)); }

  // spawner.local_start_limit, or twice the CPU cores when it is 0.
  std::size_t start_limit() const override;
  bool host_bound() const override { return true; }  // a process of this machine

  // <log_dir>/<user>[-<server>].log, names percent-escaped to stay one path component.
  std::string log_path(std::string const& user, std::string const& server) const;

 private:
  struct Launch {
    Launched launched;
    unsigned short port = 0;
    std::string log_path;
  };
  Result<Launch> launch_blocking(SpawnerConfig const& cfg, SpawnRequest const& req);  // on the pool
  // On the pool: the user's home, checked against hub_state (with notebook_dir) and made.
  Result<std::string> prepare_home(SpawnerConfig const& cfg, SpawnRequest const& req);
  // Waits until the leader exited and its group is empty, at most `limit`.
  net::awaitable<bool> wait_gone(ProcessRef ref, std::chrono::milliseconds limit);

  Snapshot<SpawnerConfig> cfg_;  // read once per call
  ProcessRunner& runner_;
  boost::asio::thread_pool& pool_;
  Clock const& clock_;
  spdlog::logger& log_;
  EnvLookup env_;
};

// Errc::config when nbhub runs as root (`euid` 0) and the server would too: no
// run_as_system_user, no allow_root_servers, no "--allow-root" in args (JupyterHub's way to
// let the server run as root). The message names the options.
Result<void> check_root_servers(SpawnerConfig const& cfg, uid_t euid);

// Resolves `cmd` as execvp would, against `path_var` (the child's PATH). Errc::unavailable
// "command not found: ..." naming the command, the PATH searched and `setting` to fix.
Result<std::string> resolve_command(std::string const& cmd, std::string const& path_var,
                                    std::string_view setting = "spawner.cmd");

// Binds port 0 on `ip`, reads the port, closes. Errc::config for an unusable ip.
Result<unsigned short> pick_free_port(std::string const& ip);

// The last `max_lines` lines (at most `max_bytes`) of `path` from `offset` on; "" if unreadable.
std::string read_log_tail(std::string const& path, std::uint64_t offset,
                          std::size_t max_lines = 20, std::size_t max_bytes = 4096);

}  // namespace nbhub::spawn
