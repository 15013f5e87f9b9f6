#pragma once
// Hooks from jupyterhub_config.py (issue 22): the functions a configuration assigns to
// Spawner.pre_spawn_hook and Spawner.auth_state_hook, called in one long-lived Python process
// per hub (config/python/nbhub_runtime.py in serve mode, started from the same evaluated
// file). Protocol: one JSON object per line on its stdin and stdout, each call with an "id"
// the answer repeats, so calls from several users run at once.
//
// Bounds: each call has python.hook_timeout (the runtime answers "did not finish" at that
// point; nbhub waits 2 s more, then kills the helper, which a hook blocking the runtime's event
// loop needs); an answer line longer than python.max_output_bytes kills it too. A helper that
// exits or is killed fails only the calls it had, and the next call starts a new one. Nothing
// of a request (auth_state, tokens) is logged.
#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "hub/login_service.hpp"
#include "spawn/spawner.hpp"

namespace spdlog { class logger; }

namespace nbhub::hub {

class PythonHelper {
 public:
  struct Options {
    std::string python;        // absolute path of the interpreter
    std::string context_json;  // the runtime's first line (config/pyeval.hpp context_json)
    std::chrono::seconds timeout{10};
    std::size_t max_line = 4u << 20;
  };
  PythonHelper(boost::asio::any_io_executor ex, Options opts, spdlog::logger& log);
  ~PythonHelper();  // kills the helper
  PythonHelper(PythonHelper const&) = delete;
  PythonHelper& operator=(PythonHelper const&) = delete;

  // Sends `request` (an "id" is added) and returns the answer object, whose "ok" is true; an
  // answer with "ok": false becomes Errc::bad_request with its "error" text; a timeout or a
  // dead helper Errc::unavailable. Any executor; resumes on the caller's.
  boost::asio::awaitable<Result<boost::json::object>> call(boost::json::object request);

  // The running helper's process id (tests, the start-up log), nullopt when none runs.
  std::optional<pid_t> pid() const;
  // Helpers started so far (1 after the first call; more after restarts).
  std::size_t starts() const;

  struct Proc;

 private:
  Result<std::shared_ptr<Proc>> running();  // the live helper, started if needed
  void kill(std::shared_ptr<Proc> const& p, std::string const& why);

  boost::asio::any_io_executor ex_;
  Options opts_;
  spdlog::logger& log_;
  mutable std::mutex mu_;
  std::shared_ptr<Proc> proc_;  // GUARDED_BY(mu_)
  std::size_t starts_ = 0;      // GUARDED_BY(mu_)
  std::uint64_t next_id_ = 1;   // GUARDED_BY(mu_)
};

// What hooks see of the spawning user beyond the request: JupyterHub's user.admin,
// user.groups and (await) user.get_auth_state().
struct HookUser {
  bool admin = false;
  std::vector<std::string> groups;
  std::optional<boost::json::object> auth_state;  // nullopt: None (no auth_state kept)
};
using HookUserLookup = std::function<boost::asio::awaitable<Result<HookUser>>(std::string const& user)>;

// A Spawner that runs the Python hooks before the real spawner's start(): auth_state_hook,
// then pre_spawn_hook (JupyterHub's User.spawn order), on a stand-in spawner carrying the
// spawner class's traits, user, name, environment and user_options. What they change in
// `environment` and `user_options` is applied to the request; other traits they change go to
// the Kubernetes spawner as overrides, and are logged as not applied (by name only) for the
// others. A hook that raises or times out fails this spawn with
// its message (Errc::config); other spawns go on. KubeSpawner's modify_pod_hook is handed to
// the Kubernetes spawner as SpawnRequest::modify_pod, called with the same stand-ins and the
// pod manifest. Everything else is the inner spawner's.
class PythonHookSpawner final : public spawn::Spawner {
 public:
  struct SpawnHooks {
    // auth_state_hook, pre_spawn_hook, a callable default_url or DockerSpawner
    // extra_create_kwargs: one "spawn" call before start()
    bool spawn = false;
    bool modify_pod = false;         // KubeSpawner.modify_pod_hook: SpawnRequest::modify_pod
    bool options_form = false;       // a callable Spawner.options_form
    bool options_from_form = false;  // Spawner.options_from_form
    // Whether the inner spawner applies a trait a hook changed (spawner_overrides.hpp for the
    // local and Docker spawners; every trait for Kubernetes); the others are logged by name.
    std::function<bool(std::string_view trait)> applies_trait;
  };
  PythonHookSpawner(spawn::Spawner& inner, PythonHelper& helper, std::vector<std::string> sections,
                    SpawnHooks hooks, HookUserLookup users, spdlog::logger& log);

  boost::asio::awaitable<Result<spawn::Started>> start(spawn::SpawnRequest req,
                                                       spawn::ProgressSink& sink) override;
  boost::asio::awaitable<std::optional<int>> poll(boost::json::object state) override {
    return inner_.poll(std::move(state));
  }
  boost::asio::awaitable<Result<void>> stop(boost::json::object state, bool now) override {
    return inner_.stop(std::move(state), now);
  }
  Result<void> adopt(boost::json::object const& state) override { return inner_.adopt(state); }
  boost::asio::awaitable<std::string> output_tail(boost::json::object state) override {
    return inner_.output_tail(std::move(state));
  }
  std::size_t start_limit() const override { return inner_.start_limit(); }
  boost::asio::awaitable<Result<std::string>> options_form(spawn::OptionsRequest who) override;
  boost::asio::awaitable<Result<boost::json::object>> options_from_form(
      spawn::OptionsRequest who, std::vector<std::pair<std::string, std::string>> form) override;
  boost::asio::awaitable<Result<void>> check_user_options(spawn::OptionsRequest who,
                                                          boost::json::object user_options) override {
    return inner_.check_user_options(std::move(who), std::move(user_options));
  }
  boost::asio::awaitable<std::string> exit_reason(boost::json::object state) override {
    return inner_.exit_reason(std::move(state));
  }
  void set_exit_listener(std::function<void()> listener) override {
    inner_.set_exit_listener(std::move(listener));
  }
  boost::asio::awaitable<std::vector<Found>> discover() override { return inner_.discover(); }
  bool host_bound() const override { return inner_.host_bound(); }

 private:
  spawn::Spawner& inner_;
  PythonHelper& helper_;
  std::vector<std::string> sections_;
  SpawnHooks hooks_;
  HookUserLookup users_;
  spdlog::logger& log_;
};

// The part of every spawner hook call that says who: sections, the user stand-in (name,
// admin, groups), server_name and auth_state. Errc::unavailable when the user cannot be read.
boost::asio::awaitable<Result<boost::json::object>> hook_request(HookUserLookup const& users,
                                                                 std::vector<std::string> const& sections,
                                                                 std::string user, std::string server_name);

// A callable profile_list(spawner): the list it returns for the user, for
// spawn::ProfileSpawner::set_source. An error names the hook (Errc::config).
std::function<boost::asio::awaitable<Result<boost::json::value>>(spawn::OptionsRequest)> profile_list_hook(
    PythonHelper& helper, std::vector<std::string> sections, HookUserLookup users, spdlog::logger& log);

// post_stop_hook(spawner), for ServerManager::set_post_stop_hook: errors are logged, naming the
// hook and its line, as JupyterHub logs them; the stop has happened either way.
std::function<boost::asio::awaitable<void>(std::string, std::string, boost::json::object)> post_stop_hook(
    PythonHelper& helper, std::vector<std::string> sections, HookUserLookup users, spdlog::logger& log);

// OAuthenticator.modify_auth_state_hook(authenticator, auth_state), the authenticator's
// check_blocked_users and check_allowed (a subclass's methods, or functions given to them;
// the base classes answer nbhub's verdict), then Authenticator.post_auth_hook(authenticator,
// handler, authentication), for LoginService::set_auth_hook. `sections`: the authenticator
// class's, base first.
LoginService::AuthHook auth_hook(PythonHelper& helper, std::vector<std::string> sections);

// What JupyterHub.default_url and JupyterHub.named_server_limit_per_user, given as functions,
// see as `handler`: handler.current_user (None when nobody is signed in) and handler.request.
// The Cookie and Authorization headers are not passed: a hook has no use for credentials.
struct HandlerCall {
  std::optional<std::string> user;
  std::string method, uri, path, remote_ip, host, protocol;
  std::vector<std::pair<std::string, std::string>> headers;
};
// Calls JupyterHub.<trait>(handler) and returns what it returned, checked by the helper: a path
// on this hub for default_url, an integer >= 0 for named_server_limit_per_user. An error
// names the hook and its line (Errc::config).
using HandlerHook =
    std::function<boost::asio::awaitable<Result<boost::json::value>>(std::string trait, HandlerCall call)>;
HandlerHook handler_hook(PythonHelper& helper, HookUserLookup users, spdlog::logger& log);

// jupyterhub_config.py's callable username_claim, for auth::LoginFlow::set_username_hook:
// calls it with the merged claims (OAuthenticator's user_info) and returns the name it picks.
// `sections`: the authenticator class's config sections, base first.
std::function<boost::asio::awaitable<Result<std::string>>(boost::json::object)> username_claim_hook(
    PythonHelper& helper, std::vector<std::string> sections);

// The hook answer applied to a request: environment set and removed, user_options replaced,
// other traits the hooks changed into trait_overrides when `applies_trait` says the spawner
// applies them. Returns the names
// of changed traits not applied. Errc::bad_request for an answer of the wrong shape. Separate
// from the spawner for unit tests.
Result<std::vector<std::string>> apply_hook_answer(boost::json::object const& answer, spawn::SpawnRequest& req,
                                                   std::function<bool(std::string_view)> const& applies_trait);

}  // namespace nbhub::hub
