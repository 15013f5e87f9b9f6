#pragma once
// The hub's Prometheus metrics (docs/metrics.md): JupyterHub's, under its names, types,
// labels and buckets (jupyterhub/metrics.py of JupyterHub 5, plus login_duration_seconds of
// JupyterHub 6) so that jupyterhub/grafana-dashboards and existing alerts work, and nbhub's
// own under `nbhub_`. The prefix of JupyterHub's names is "jupyterhub" unless
// JUPYTERHUB_METRICS_PREFIX says otherwise, as in JupyterHub.
//
// Labels are flat outcome enums, route patterns, methods and status codes: never a user,
// server, path or token (STYLE.md §7).
//
// Thread-safety: every method may be called from any thread; refresh_user_counts() blocks
// (it queries the store) and belongs on the blocking pool.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "metrics/registry.hpp"
#include "store/store.hpp"

namespace spdlog { class logger; }
namespace nbhub::proxy { struct ProxyStats; }
namespace nbhub::spawn { class SpawnQueue; }

namespace nbhub::hub {

class ServerManager;

// JupyterHub's ServerSpawnStatus (5.x), ServerPollStatus, and the success/failure pairs.
enum class SpawnStatus { success, failure, already_pending, throttled, too_many_users };
enum class PollStatus { running, stopped };
std::string_view to_string(SpawnStatus s);

struct HubMetricsOptions {
  std::string prefix = "jupyterhub";  // JUPYTERHUB_METRICS_PREFIX
  std::string route_base = "/";       // the router's (decoded) base_url, stripped from patterns
  // JUPYTERHUB_SERVER_SPAWN_DURATION_SECONDS_BUCKETS / ..._STOP_...: empty = JupyterHub's.
  std::vector<double> spawn_buckets;
  std::vector<double> stop_buckets;
};

// Reads JUPYTERHUB_METRICS_PREFIX and the two bucket variables from `env`; a malformed bucket
// list is an error naming the variable.
Result<HubMetricsOptions> metrics_options_from_env(std::map<std::string, std::string> const& env);

class HubMetrics {
 public:
  explicit HubMetrics(HubMetricsOptions opts);
  HubMetrics(HubMetrics const&) = delete;
  HubMetrics& operator=(HubMetrics const&) = delete;

  metrics::Registry& registry() { return registry_; }
  std::string expose() const { return registry_.expose(); }

  // --- recorded where things happen ----------------------------------------------------------
  // Every request the hub's router served: request_duration_seconds{method,handler,code};
  // also login_duration_seconds and sign-in failures for the OAuth callback, and
  // logout_duration_seconds.
  // `method` is the request's (an unknown verb as "OTHER"), `route` the router's pattern ("" for
  // none).
  void observe_request(std::string_view method, std::string_view route, unsigned status,
                       std::chrono::steady_clock::duration took);
  void spawn_finished(SpawnStatus s, std::chrono::steady_clock::duration took);
  void stop_finished(bool ok, std::chrono::steady_clock::duration took);
  void poll_finished(PollStatus s, std::chrono::steady_clock::duration took);
  void proxy_add_finished(bool ok, std::chrono::steady_clock::duration took);
  void proxy_delete_finished(bool ok, std::chrono::steady_clock::duration took);
  void check_routes_finished(std::chrono::steady_clock::duration took);
  void hub_started(std::chrono::steady_clock::duration took);
  void spawners_initialised(std::chrono::steady_clock::duration took);
  // A call to an identity provider (metered_http_client.hpp).
  void idp_call(std::string_view provider, std::string_view endpoint, std::string_view outcome,
                std::chrono::steady_clock::duration took);
  void token_refresh(std::string_view outcome);
  void event_loop_interval(std::chrono::steady_clock::duration delay);
  // For Store::set_query_observer.
  store::Store::QueryObserver store_observer();

  // --- read when scraped ---------------------------------------------------------------------
  // total_users and active_users{period} from one store query (blocking: the pool).
  Result<void> refresh_user_counts(store::Store& store, Clock::SysTime now);
  // running_servers, the spawn queue and the proxy's counters, read at each scrape. The
  // objects must outlive this one.
  void watch(ServerManager const& servers, spawn::SpawnQueue const& queue, proxy::ProxyStats const& proxy);

  // The handler label for a router pattern: JupyterHub's handler class where one corresponds
  // ("jupyterhub.apihandlers.users.SpawnProgressAPIHandler"), else "nbhub:" and the pattern
  // without base_url ("nbhub:/hub/api/users/{name}/oauth-token"); "" (no route) is
  // JupyterHub's "jupyterhub.handlers.pages.Template404".
  std::string handler_name(std::string_view pattern) const;

 private:
  HubMetricsOptions opts_;
  metrics::Registry registry_;

 public:
  // JupyterHub's metrics.
  metrics::HistogramFamily& request_duration;
  metrics::HistogramFamily& spawn_duration;
  metrics::GaugeFamily& running_servers;
  metrics::GaugeFamily& total_users;
  metrics::GaugeFamily& active_users;
  metrics::HistogramFamily& check_routes_duration;
  metrics::HistogramFamily& hub_startup_duration;
  metrics::HistogramFamily& init_spawners_duration;
  metrics::HistogramFamily& proxy_poll_duration;
  metrics::HistogramFamily& proxy_add_duration;
  metrics::HistogramFamily& server_poll_duration;
  metrics::HistogramFamily& server_stop_duration;
  metrics::HistogramFamily& proxy_delete_duration;
  metrics::HistogramFamily& login_duration;
  metrics::HistogramFamily& logout_duration;
  metrics::HistogramFamily& event_loop_interval_seconds;
  // nbhub's own.
  metrics::CounterFamily& sign_in_failures;
  metrics::HistogramFamily& idp_request_duration;
  metrics::CounterFamily& token_refreshes;
  metrics::HistogramFamily& store_query_duration;
  metrics::GaugeFamily& spawn_queue;
  // Managed services (service_supervisor.hpp); service names come from config, never users.
  metrics::CounterFamily& service_restarts;
  metrics::GaugeFamily& service_up;

 private:
  mutable std::mutex names_mu_;
  mutable std::map<std::string, std::string, std::less<>> names_;  // GUARDED_BY(names_mu_)
};

// JupyterHub's event-loop probe: sleeps `resolution` again and again on the calling
// executor and records by how much each wake-up came late (event_loop_interval_seconds),
// logging a warning past `warn_after`. Runs until its executor stops.
boost::asio::awaitable<void> measure_event_loop(HubMetrics& metrics, spdlog::logger& log,
                                                std::chrono::milliseconds resolution = std::chrono::milliseconds(50),
                                                std::chrono::milliseconds warn_after = std::chrono::milliseconds(1000));

}  // namespace nbhub::hub
