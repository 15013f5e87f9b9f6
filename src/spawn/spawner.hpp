#pragma once
// The Spawner plug-in point, modelled on JupyterHub's `Spawner` (jupyterhub/spawner.py) and the
// spawner -> single-user contract (spec/jupyterhub-contract.md §1).
//
// One Spawner object serves every server of the hub. Per-server facts live in the JSON
// `state` that start() returns: the hub persists it (store/) and hands it back to poll(),
// stop() and adopt(), also after an nbhub restart. A spawner keeps only caches beside it.
//
// Lifecycle, as in JupyterHub's User.spawn / User.stop:
//   start()            -> the process (container, pod) exists; returns its URL and state
//   wait_until_ready() -> the server answers HTTP (readiness.hpp); SpawnQueue does both
//   poll()             -> every poll_interval, and at nbhub start-up after adopt()
//   stop()             -> on DELETE, cull, logout; also after a failed spawn, and after poll()
//                         reported an exit (so the spawner can forget the process)
//
// Executors. Every coroutine may be awaited from any executor and resumes on it; blocking
// work (fork/exec, getpwnam, /proc, file reads) runs on the blocking pool given to the
// implementation. Calls for *different* servers may run concurrently from different threads;
// the hub never runs two calls for the same server at once.
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <map>
#include <optional>
#include <vector>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace nbhub::spawn {

namespace net = boost::asio;

struct SpawnRequest {
  std::string user;         // JupyterHub user name, unescaped
  std::string server_name;  // "" for the default server
  // The hub's part of the environment contract (spec §1.2): JUPYTERHUB_API_TOKEN,
  // JPY_API_TOKEN, JUPYTERHUB_CLIENT_ID, JUPYTERHUB_HOST, JUPYTERHUB_OAUTH_CALLBACK_URL,
  // JUPYTERHUB_OAUTH_ACCESS_SCOPES, JUPYTERHUB_OAUTH_SCOPES,
  // JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES, JUPYTERHUB_USER, JUPYTERHUB_SERVER_NAME,
  // JUPYTERHUB_API_URL, JUPYTERHUB_ACTIVITY_URL, JUPYTERHUB_BASE_URL,
  // JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED, optionally JUPYTERHUB_ADMIN_ACCESS,
  // JUPYTERHUB_COOKIE_OPTIONS, JUPYTERHUB_PUBLIC_URL, JUPYTERHUB_PUBLIC_HUB_URL,
  // JUPYTERHUB_DEBUG, JUPYTERHUB_DISABLE_USER_CONFIG. The spawner adds what it owns:
  // JUPYTERHUB_SERVICE_PREFIX, JUPYTERHUB_SERVICE_URL (it picks the port),
  // JUPYTERHUB_ROOT_DIR, JUPYTERHUB_DEFAULT_URL, env_keep and `environment`.
  std::map<std::string, std::string> env;
  std::string service_prefix;  // the server's base URL, "/user/alice/"; leading and trailing '/'
  bool admin = false;          // the owner is an admin (informational, for spawners that care)
  // JupyterHub's user_options: what the spawn form or the API body chose ({"profile": "gpu"}).
  // Unchecked input: the spawner validates it and answers Errc::bad_request.
  boost::json::object user_options;
  // Set and removed by jupyterhub_config.py's pre_spawn_hook / auth_state_hook
  // (hub/python_hooks.hpp): applied after the configured `environment` (spawn_env.hpp).
  std::map<std::string, std::string> hook_environment;
  std::vector<std::string> hook_environment_removed;
  // Spawner traits changed for this spawn ({"image": "..."}): the chosen profile's overrides
  // (ProfileSpawner) under what Python hooks set. The Kubernetes spawner applies them as a
  // kubespawner_override, the local and Docker spawners as spawner_overrides.hpp says.
  boost::json::object trait_overrides;
  // KubeSpawner's modify_pod_hook from jupyterhub_config.py: the Kubernetes spawner passes the
  // pod manifest through it before creating the pod; an error fails the spawn. Unset: none.
  std::function<boost::asio::awaitable<Result<boost::json::object>>(boost::json::object pod)> modify_pod;
};

// Whom a spawn form, form fields or user_options are for.
struct OptionsRequest {
  std::string user;
  std::string server_name;
  bool admin = false;
  // The user_options this server was last started with, {} when none (kept in the store:
  // migration 9, so also after a stop and a hub restart).
  boost::json::object last_user_options;
};

struct Started {
  std::string url;            // where the hub reaches the server, "http://127.0.0.1:PORT", no path
  boost::json::object state;  // persist it; LocalSpawner: pid, pgid, port, started_at, ...
};

// A string field of a spawner's state, "" when absent or not a string.
inline std::string state_string(boost::json::object const& state, std::string_view key) {
  if (auto v = state.if_contains(key); v && v->is_string()) return std::string(v->as_string());
  return "";
}

// One progress event, as in JupyterHub's progress stream (spec §4.5).
struct SpawnProgress {
  int progress = 0;  // 0-100
  std::string message;
};

// Receives what a spawn reports while it runs. Called on the executor of the spawning
// coroutine, never concurrently; must not block. Must outlive the call it is passed to.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void progress(SpawnProgress const& p) = 0;
  // The process exists (start() returned). Persist `s.state` now: if nbhub dies during the
  // readiness wait, the next nbhub adopts the server rather than leaking it.
  virtual void started(Started const& s) {}
};

// A sink that drops everything; for callers without a progress page.
class NullProgressSink final : public ProgressSink {
 public:
  void progress(SpawnProgress const&) override {}
};

class Spawner {
 public:
  virtual ~Spawner() = default;

  // Starts the server and returns as soon as it has been launched; it need not answer HTTP
  // yet. Errors:
  //   Errc::bad_request  the request is malformed (empty user, prefix without slashes);
  //   Errc::config       the configuration cannot work for this user ("system user 'alice'
  //                      does not exist; ..."; an unusable log_dir);
  //   Errc::unavailable  the command could not be run ("command not found", permission
  //                      denied, fork failed); the message names the command;
  //   Errc::internal     anything unexpected.
  // Cancellation (the SpawnQueue cancels at start_timeout): an implementation must not leave a
  // process behind; it finishes what it launched off and cleans it up, then completes.
  virtual net::awaitable<Result<Started>> start(SpawnRequest req, ProgressSink& sink) = 0;

  // JupyterHub's poll(): nullopt while the server runs; its exit status once it does not
  // (0 when unknown, e.g. an adopted process; a negative signal number when killed by a
  // signal, as Python's Popen reports it). An empty or unknown state means "not running", 0.
  // Never fails: a spawner that cannot tell answers nullopt and logs why.
  virtual net::awaitable<std::optional<int>> poll(boost::json::object state) = 0;

  // Stops the server and completes when it no longer runs. Idempotent: stopping a stopped
  // or unknown server succeeds. `now` = no grace period (a server that never became ready).
  // Errors: Errc::unavailable when the server could not be stopped ("process 123 survived
  // SIGKILL"); the hub then keeps the state and may retry.
  virtual net::awaitable<Result<void>> stop(boost::json::object state, bool now) = 0;

  // After an nbhub restart, before the first poll(): take over a server that a previous nbhub
  // started. Does not check that it still runs (poll() does). Errc::bad_request when the
  // state is not one this spawner wrote.
  virtual Result<void> adopt(boost::json::object const& state) = 0;

  // The last lines the server wrote, for error messages after it exited or never answered;
  // "" when the spawner cannot tell. They are the owner's own output, shown to the owner and
  // to admins; the hub must not put them anywhere else.
  virtual net::awaitable<std::string> output_tail(boost::json::object state) { co_return ""; }

  // How many servers this spawner can bring up at once without them starving each other; 0
  // for no limit of its own. SpawnQueue holds further spawns in its queue (the smaller of this
  // and concurrent_spawn_limit applies). LocalSpawner's servers share this machine's CPUs: a
  // single-user server spends one to two CPU-seconds importing Python before it answers, so 80
  // started at once on two cores all miss http_timeout, while a few at a time all make it.
  virtual std::size_t start_limit() const { return 0; }

  // JupyterHub's Spawner.options_form: form fields (an HTML fragment, already escaped) the spawn
  // page shows before starting; "" for none, and then a GET of /hub/spawn starts at once.
  // `who.last_user_options` pre-selects what the user chose last time (KubeSpawner 7.1).
  virtual net::awaitable<Result<std::string>> options_form(OptionsRequest who) { co_return std::string(); }
  // JupyterHub's Spawner.options_from_form: the posted fields (name, value; repeated names
  // kept in order) as user_options. Errc::bad_request names the field that is wrong.
  virtual net::awaitable<Result<boost::json::object>> options_from_form(
      OptionsRequest who, std::vector<std::pair<std::string, std::string>> form) {
    co_return boost::json::object{};
  }
  // user_options from the REST API or the form, checked before the start is queued, so that a
  // wrong one is a 400 rather than a failed spawn: Errc::bad_request saying what is wrong.
  virtual net::awaitable<Result<void>> check_user_options(OptionsRequest who, boost::json::object user_options) {
    co_return Result<void>{};
  }

  // Why a server that poll() reported as exited stopped, in words for its owner ("the pod
  // was evicted: the node ran low on memory"); "" when the spawner cannot tell. Asked before
  // stop(), which may erase the evidence.
  virtual net::awaitable<std::string> exit_reason(boost::json::object state) { co_return ""; }

  // Spawners that learn of an exit by themselves (a Kubernetes watch) call `listener` then,
  // so the hub polls at once instead of at the next poll_interval. Called from any thread;
  // set once, before the first start().
  virtual void set_exit_listener(std::function<void()> listener) {}

  // Servers this spawner finds running that the hub may not know (a Kubernetes pod with the
  // hub's labels but no server record: the hub died between creating it and recording it).
  struct Found {
    std::string user, server_name, url;  // url "" while it has no address yet
    boost::json::object state;
    std::string api_token;  // the JUPYTERHUB_API_TOKEN it was started with ("" = unknown)
    // When it cannot be adopted (its token is not this hub's): stop it, or leave it alone.
    bool stop_if_unusable = false;
  };
  virtual net::awaitable<std::vector<Found>> discover() { co_return std::vector<Found>{}; }

  // Whether poll() and stop() only work on the machine that started the server (a local
  // process), so that of several hub replicas only those on that machine may poll, stop or
  // take it over (docs/replicas.md). Containers and pods are reachable from anywhere.
  virtual bool host_bound() const { return false; }
};

}  // namespace nbhub::spawn
