#pragma once
// Managed services (JupyterHub's `services` entries with a `command`): nbhub starts each one
// with JupyterHub's environment (service_env.hpp), restarts it with exponential backoff when
// it exits (JupyterHub restarts at once, forever: jupyterhub#4981), and stops it with the hub.
//
// Life of one service: launch (fork/exec on the blocking pool, through ProcessRunner) ->
// running (polled every `poll_interval`) -> exited: the reason (exit code or signal) is logged
// and counted in nbhub_service_restarts_total{service,reason}, nbhub_service_up{service} goes
// to 0, and after a delay (restart_delay, doubling up to restart_max_delay; back to
// restart_delay after a run that lasted restart_max_delay) it is launched again. A launch
// that fails (command not found, bad cwd) is retried on the same schedule. Stopping sends
// SIGTERM to the service's process group, then SIGKILL after `stop_timeout`.
//
// stdout and stderr go to <log_dir>/service-<name>.log (appended, 0600).
//
// Thread-safety: every public method may be called from any thread; the state lives on one
// strand. Secrets: the environment (which holds the service's token) is never logged.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hub/service_env.hpp"
#include "hub/services.hpp"
#include "spawn/process.hpp"

namespace spdlog { class logger; }

namespace nbhub::hub {

class HubMetrics;

struct SupervisorOptions {
  std::chrono::milliseconds restart_delay{1000};
  std::chrono::milliseconds restart_max_delay{60000};
  std::chrono::milliseconds stop_timeout{10000};
  std::chrono::milliseconds poll_interval{500};
  std::string log_dir = "service-logs";
  ServiceEnvContext env;
};

class ServiceSupervisor {
 public:
  // `runner`, `pool`, `metrics` (may be null) and `log` must outlive the supervisor, which
  // must be stopped (stop_all) before it is destroyed.
  ServiceSupervisor(SupervisorOptions opts, spawn::ProcessRunner& runner, boost::asio::thread_pool& pool,
                    boost::asio::any_io_executor ex, HubMetrics* metrics, spdlog::logger& log,
                    spawn::EnvLookup env = spawn::process_env_lookup());
  ~ServiceSupervisor();
  ServiceSupervisor(ServiceSupervisor const&) = delete;
  ServiceSupervisor& operator=(ServiceSupervisor const&) = delete;

  // Makes the managed services those of `services` (external ones are ignored): starts the
  // new ones, stops those no longer listed, and restarts those whose command, environment,
  // cwd, user, url or token changed; the others keep running. Completes once the stopped
  // ones are gone (the new ones are launched in the background). Also for a configuration
  // reload: hand it the new registry.
  boost::asio::awaitable<void> apply(std::vector<Service> services);

  // Stops every service (SIGTERM, then SIGKILL after stop_timeout) and completes when all
  // are gone. Later apply() calls start nothing.
  boost::asio::awaitable<void> stop_all();

  // The pid of a running service; nullopt while it is not running.
  std::optional<int> pid_of(std::string const& name) const;

  struct Entry;

 private:
  boost::asio::awaitable<void> supervise(std::shared_ptr<Entry> e);
  boost::asio::awaitable<void> stop_entry(std::shared_ptr<Entry> e);
  boost::asio::awaitable<Result<spawn::Launched>> launch(Service s);
  std::string log_path(std::string const& name) const;

  SupervisorOptions opts_;
  spawn::ProcessRunner& runner_;
  boost::asio::thread_pool& pool_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  HubMetrics* metrics_;
  spdlog::logger& log_;
  spawn::EnvLookup env_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;  // on strand_
  bool closed_ = false;                                    // on strand_
  mutable std::mutex pids_mu_;
  std::map<std::string, int> pids_;  // GUARDED_BY(pids_mu_)
};

}  // namespace nbhub::hub
