#pragma once
// Users' servers and their state machine (DESIGN.md "hub"): stopped → pending → ready →
// stopping → stopped. A start registers the server's API token and OAuth client, asks the
// spawner to start it, waits for readiness, adds the proxy route and records the server in the
// store; a stop reverses that. On startup, recorded servers are adopted again.
//
// Thread-safety: all public methods may be called from any executor; the live table is
// guarded by a mutex and spawns run as their own coroutines (never detached: failures log).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/rows.hpp"

namespace spdlog { class logger; }
namespace nbhub::store { class Store; }
namespace nbhub::spawn { class Spawner; class SpawnQueue; }
namespace nbhub::proxy { class RouteTable; }

namespace nbhub::hub {

class TokenService;
class HubMetrics;

enum class ServerState { stopped, pending, ready, stopping };
std::string_view to_string(ServerState s);

struct ServerView {
  ServerState state = ServerState::stopped;
  std::string url;             // http://127.0.0.1:PORT when ready
  std::string last_error;      // why the last start failed, for the pending page and the API
  std::optional<Clock::SysTime> started;
  std::optional<Clock::SysTime> last_activity;
  // What the last start asked for (JupyterHub 6.0's server model): held while the process
  // runs, not recorded (a server adopted after a restart shows {} and its name).
  std::string display_name;
  boost::json::object user_options;
};

struct ServersConfig {
  std::string base_url = "/";        // hub base_url
  std::string hub_api_url;           // http://127.0.0.1:8081/hub/api as servers reach it
  std::string public_url;            // for JUPYTERHUB_PUBLIC_URL; may be empty
  bool allow_named_servers = false;
  std::size_t named_server_limit_per_user = 0;
};

class ServerManager {
 public:
  ServerManager(ServersConfig cfg, boost::asio::io_context& ioc, store::Store& store,
                TokenService& tokens, spawn::Spawner& spawner, spawn::SpawnQueue& queue,
                proxy::RouteTable& routes, Clock const& clock,
                boost::asio::thread_pool& pool, spdlog::logger& log);
  ~ServerManager();

  // Starts the server unless it is already pending/ready. Returns at once; the spawn runs in
  // the background. Errors: conflict (stopping), bad_request (named servers off or bad
  // name), unavailable (limits).
  // bad_request also when a new named server would pass named_server_limit_per_user.
  // `display_name` ("" = the server's name) is JupyterHub 6.0's label for a named server.
  Result<ServerState> start(store::UserRow const& user, std::string const& server_name,
                            boost::json::object user_options = {}, std::string display_name = "");
  // The spawner's options form ("" for none), with what this server was last started with
  // pre-selected; its reading of a posted form; its check of user_options before start()
  // (Errc::bad_request: a 400 with its message).
  boost::asio::awaitable<Result<std::string>> options_form(store::UserRow user, std::string server_name);
  boost::asio::awaitable<Result<boost::json::object>> options_from_form(
      store::UserRow user, std::string server_name, std::vector<std::pair<std::string, std::string>> form);
  boost::asio::awaitable<Result<void>> check_user_options(store::UserRow user, std::string server_name,
                                                          boost::json::object user_options);
  // The user_options the server was last started with in this process ({} when none).
  boost::json::object last_user_options(std::string const& user, std::string const& server_name) const;
  // Stops it (and waits for the stop). Stopping a stopped server is not an error.
  boost::asio::awaitable<Result<void>> stop(std::string user, std::string server_name);

  ServerView view(std::string const& user, std::string const& server_name) const;
  std::map<std::string, ServerView> views_for(std::string const& user) const;  // by server name

  // Progress events so far (JupyterHub's event stream items) and whether the spawn ended.
  struct Progress {
    boost::json::array events;
    bool finished = false;
  };
  Progress progress(std::string const& user, std::string const& server_name) const;
  // Waits until there are more than `seen` events or the spawn finished (bounded by `max_wait`).
  boost::asio::awaitable<Progress> wait_progress(std::string user, std::string server_name,
                                                 std::size_t seen, std::chrono::milliseconds max_wait);

  // After a restart: adopt every recorded server whose process still runs; mark the others
  // stopped. Blocking parts run on the pool.
  boost::asio::awaitable<void> adopt_all();
  // Periodic: poll running servers, drop the ones that died; flush proxy activity to the store.
  boost::asio::awaitable<void> check_all();

  // Servers pending or ready (for active_server_limit).
  std::size_t running_count() const;
  // Stops servers idle for longer than `timeout`, or (when max_age > 0) older than max_age.
  boost::asio::awaitable<void> cull(std::chrono::seconds timeout, std::chrono::seconds max_age);

  // Runs before each spawn; its variables join the server's environment and an error fails
  // the spawn with its message (refresh_pre_spawn, the IdP's tokens: hub/token_refresher).
  using PreSpawnHook = std::function<boost::asio::awaitable<Result<std::map<std::string, std::string>>>(store::UserRow const&)>;
  void set_pre_spawn_hook(PreSpawnHook hook) { pre_spawn_ = std::move(hook); }
  // Runs after a server stopped (jupyterhub_config.py's post_stop_hook); it logs its own
  // errors. Set once before the first start.
  using PostStopHook = std::function<boost::asio::awaitable<void>(std::string user, std::string server_name,
                                                                  boost::json::object user_options)>;
  void set_post_stop_hook(PostStopHook hook) { post_stop_ = std::move(hook); }
  // Spawn, stop, poll and route timings (hub_metrics.hpp); set once before the first start.
  void set_metrics(HubMetrics* metrics) { metrics_ = metrics; }
  // Called (on any thread; it must only post) after a server became ready or stopped and its
  // row says so: the other replicas' route tables follow (hub/route_sync.hpp). Set once
  // before the first start.
  void set_on_routes_changed(std::function<void()> f) { routes_changed_ = std::move(f); }

  // JupyterHub's last progress event of a spawn that succeeded.
  boost::json::object ready_event(std::string_view user, std::string_view server_name) const;

  static std::string client_id_for(std::string_view user, std::string_view server_name);
  std::string prefix_for(std::string_view user, std::string_view server_name) const;

 private:
  struct Live;
  boost::asio::awaitable<void> run_spawn(store::UserRow user, std::string server_name, std::shared_ptr<Live> live,
                                         boost::json::object user_options);
  boost::asio::awaitable<void> adopt_found();  // the spawner's servers without a record
  // A server that runs but has not been seen answering: track it as pending, and wait for it
  // (resume_spawn) in the background.
  void wait_in_background(std::string const& user_name, store::ServerRow const& row, std::string const& why);
  // An adopted server that was still starting: wait for it, then route it or stop it.
  boost::asio::awaitable<void> resume_spawn(std::string user_name, store::ServerRow row, std::shared_ptr<Live> live);
  std::shared_ptr<Live> live_for(std::string const& user, std::string const& server_name) const;
  void push_event(Live& live, int progress, std::string message, bool ready = false, bool failed = false);

  ServersConfig cfg_;
  boost::asio::io_context& ioc_;
  store::Store& store_;
  TokenService& tokens_;
  spawn::Spawner& spawner_;
  spawn::SpawnQueue& queue_;
  proxy::RouteTable& routes_;
  Clock const& clock_;
  boost::asio::thread_pool& pool_;
  spdlog::logger& log_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Live>> live_;  // GUARDED_BY(mu_), key "user/server"
  Clock::SysTime activity_flushed_{};                    // GUARDED_BY(mu_)
  PreSpawnHook pre_spawn_;                               // set once before the first start
  PostStopHook post_stop_;                               // set once before the first start
  HubMetrics* metrics_ = nullptr;                        // set once before the first start
  std::function<void()> routes_changed_;                 // set once before the first start
  void routes_changed() const { if (routes_changed_) routes_changed_(); }
};

}  // namespace nbhub::hub
