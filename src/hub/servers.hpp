#pragma once
// Users' servers and their state machine (DESIGN.md "hub"): stopped → pending → ready →
// stopping → stopped. A start registers the server's API token and OAuth client, asks the
// spawner to start it, waits for readiness, adds the proxy route and records the server in the
// store; a stop reverses that. On startup, recorded servers are adopted again.
//
// The state machine lives in the store (migration 8, docs/replicas.md): each server's row has
// its phase, the replica driving its current transition with a lease, and a version that
// every transition compares and sets. Several replicas on one PostgreSQL database therefore
// never start one server twice: a start whose claim loses follows the other replica's spawn
// as a pending start does. The table in memory is a cache of the rows: this replica's own
// transitions write it first, the others' arrive through sync_from_store() (on every NOTIFY
// and poll round, hub/route_sync.hpp). A stop works from any replica (the row says what to
// stop); a pending or stopping server whose driver went silent past its lease is taken over
// by the replica running the poll job, which reconciles it with the spawner.
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
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/rows.hpp"

namespace spdlog { class logger; }
namespace nbhub::store { class Store; }
namespace nbhub::spawn { class Spawner; class SpawnQueue; struct OptionsRequest; }
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
  // What the last start asked for (JupyterHub 6.0's server model); also kept in the store
  // (migration 9), so a server adopted after a restart or started by another replica shows it.
  std::string display_name;
  boost::json::object user_options;
};

struct ServersConfig {
  // This replica's id (host:pid:hex, logged at start-up): the driver of the rows it claims.
  std::string replica_id = "local";
  // PostgreSQL: other replicas share the rows, so a driver's lease is respected. SQLite: this
  // process is the only one (store/process_lock), so a pending row at start-up is an orphan.
  bool shared_store = false;
  // How long a driver may go silent before another replica takes its pending or stopping
  // server over; renewed every third of it while the transition runs.
  std::chrono::seconds lease_ttl{30};
  std::size_t events_kept = 50;      // progress events kept per server in the store
  std::string base_url = "/";        // hub base_url
  std::string hub_api_url;           // http://127.0.0.1:8081/hub/api as servers reach it
  std::string public_url;            // for JUPYTERHUB_PUBLIC_URL; may be empty
  bool allow_named_servers = false;
  // false: a named server whose name is not strict (server_names.hpp) may not start
  // (JupyterHub 6.0's allow_existing_invalid_named_servers other than "allow-start").
  bool allow_invalid_named_server_start = true;
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
  // `display_name` ("" = the server's name) is JupyterHub 6.0's label for a named server.
  // Handlers check named_server_limit_per_user first (check_named_limit).
  Result<ServerState> start(store::UserRow const& user, std::string const& server_name,
                            boost::json::object user_options = {}, std::string display_name = "");
  // JupyterHub's named_server_limit_per_user before a start or a definition: bad_request when
  // `server_name` is a new named server and `user` already has `limit` (> 0) named servers,
  // defined (JupyterHub 6.0's PUT) or starting or running. `limit` is the configured number or
  // what the function returned for this request (web/handler_hooks.hpp).
  boost::asio::awaitable<Result<void>> check_named_limit(store::UserRow user, std::string server_name,
                                                         std::size_t limit);
  // The named servers counted by that limit, given the user's defined ones.
  std::size_t named_count(std::string const& user, std::vector<store::NamedServerRow> const& defined) const;
  // The spawner's options form ("" for none), with what this server was last started with
  // pre-selected (the store's record: it survives stops and restarts); its reading of a posted form; its check of user_options before start()
  // (Errc::bad_request: a 400 with its message).
  boost::asio::awaitable<Result<std::string>> options_form(store::UserRow user, std::string server_name);
  boost::asio::awaitable<Result<boost::json::object>> options_from_form(
      store::UserRow user, std::string server_name, std::vector<std::pair<std::string, std::string>> form);
  boost::asio::awaitable<Result<void>> check_user_options(store::UserRow user, std::string server_name,
                                                          boost::json::object user_options);
  // The user_options of the server's last start as this replica knows it ({} when none).
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
  // Periodic: poll running servers, drop the ones that died, and take over pending or stopping
  // servers whose driver's lease ran out (only while `poll_job` is held, when one is set);
  // flush this replica's proxy activity to the store (always).
  boost::asio::awaitable<void> check_all();
  // While set, only the replica holding it polls and takes servers over (hub/job_lease.hpp),
  // and adopt_all() leaves adopt_found() to the replica that takes the job.
  void set_poll_job(std::function<bool()> held) { poll_job_held_ = std::move(held); }
  // The spawner's servers that run without a record (a replica died between creating one and
  // recording it): adopted, or stopped when the spawner's policy says so. At start-up, and
  // with replicas each time this replica takes the poll job, so that one replica does it.
  boost::asio::awaitable<void> adopt_found();
  // Renews the leases of the transitions this replica drives, every lease_ttl / 3; runs
  // until the executor stops.
  boost::asio::awaitable<void> keep_leases();
  // Reads every server row and brings the cache up to date with the transitions of other
  // replicas (their progress events included); returns the rows read, nullopt when the store
  // could not be read. Rows this replica is driving are left to it.
  boost::asio::awaitable<std::optional<std::vector<store::OwnedServer>>> sync_from_store();
  // Whether this replica's ServerManager routes the server itself (route_sync leaves it alone).
  bool routed_here(std::string const& user, std::string const& server_name) const;

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

  // JupyterHub's last progress event of a spawn that succeeded.
  boost::json::object ready_event(std::string_view user, std::string_view server_name) const;

  static std::string client_id_for(std::string_view user, std::string_view server_name);
  std::string prefix_for(std::string_view user, std::string_view server_name) const;

 private:
  struct Live;
  struct RowOrder;
  // Who asks for the options form, with the server's last user_options (store, then memory).
  boost::asio::awaitable<spawn::OptionsRequest> options_request(store::UserRow user, std::string server_name);
  // Reads the last display_name and user_options of entries showing a row this replica did
  // not start (adopted, or another replica's), once per row.
  boost::asio::awaitable<void> load_choices();
  boost::asio::awaitable<void> run_spawn(store::UserRow user, std::string server_name, std::shared_ptr<Live> live,
                                         boost::json::object user_options);
  // An adopted server that was still starting: wait for it, then route it or record the failure.
  boost::asio::awaitable<void> resume_spawn(std::shared_ptr<Live> live);
  // Takes over a pending or stopping server whose driver's lease ran out, and finishes its
  // transition. `force`: ignore the lease (SQLite at start-up: its driver was this process).
  boost::asio::awaitable<void> take_over(std::shared_ptr<Live> live, bool force);
  // The second half of a stop, once this replica drives it (the row says stopping).
  boost::asio::awaitable<void> finish_stop(std::shared_ptr<Live> live);
  std::shared_ptr<Live> live_for(std::string const& user, std::string const& server_name) const;
  void push_event(std::shared_ptr<Live> const& live, int progress, std::string message, bool ready = false,
                  bool failed = false);
  void save_events(std::shared_ptr<Live> const& live);  // caller holds mu_
  // Blocking (on the pool): compare-and-set of the row from the entry as it is, changed by
  // `change`; on success the entry takes the new version.
  Result<store::ServerRow> write_row(Live& live, std::function<void(store::ServerRow&)> const& change);
  // Blocking: the end of a failed start. Tokens and OAuth client go; the row stays, stopped,
  // with the error (for the pending page on any replica).
  void record_failure(Live& live, std::string const& why);
  // Applies a row read from the store to an entry this replica does not drive (caller holds
  // mu_); returns whether its events should be read again.
  bool apply_row_locked(Live& live, store::OwnedServer const& rec);
  // Takes the events read for row `row_id` into an entry that follows it (caller holds mu_),
  // ending them as the row ended, and marks the spawn finished unless it is still pending.
  void load_events_locked(Live& live, std::int64_t row_id, Result<std::vector<store::ServerEvent>> events);
  bool can_reach(std::string_view driver) const;  // host_bound spawners: same machine only
  std::size_t active_locked() const;               // caller holds mu_

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
  std::function<bool()> poll_job_held_;                  // set once before the first poll
};

}  // namespace nbhub::hub
