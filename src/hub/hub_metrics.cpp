#include "hub/hub_metrics.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cstdlib>

#include "hub/servers.hpp"
#include "metrics/process_metrics.hpp"
#include "proxy/proxy_stats.hpp"
#include "spawn/spawn_queue.hpp"

namespace nbhub::hub {

namespace {

using metrics::Type;

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// jupyterhub/metrics.py's spawn_duration_buckets and stop_duration_buckets.
constexpr double kSpawnBuckets[] = {0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 180, 300, 600};
// event_loop_interval_seconds: 5 ms steps from 50 ms, then the defaults from 75 ms.
constexpr double kEventLoopBuckets[] = {0.05, 0.055, 0.06, 0.065, 0.07, 0.075, 0.1, 0.25,
                                        0.5,  0.75,  1,    2.5,   5,    7.5,   10};
// nbhub_idp_request_duration_seconds and the store: calls take milliseconds to seconds.
constexpr double kIdpBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
constexpr double kStoreBuckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                    0.025,  0.05,    0.1,    0.25,  0.5,    1,     5};

std::span<const double> or_default(std::vector<double> const& given, std::span<const double> fallback) {
  return given.empty() ? fallback : std::span<const double>(given);
}

// JupyterHub's handler classes for nbhub's route patterns (without base_url); see
// jupyterhub/handlers/*.py and jupyterhub/apihandlers/*.py `default_handlers`.
struct HandlerName {
  std::string_view pattern;
  std::string_view handler;
};
constexpr HandlerName kHandlers[] = {
    {"", "jupyterhub.handlers.base.RootHandler"},
    {"hub/", "jupyterhub.handlers.pages.RootHandler"},
    {"hub/home", "jupyterhub.handlers.pages.HomeHandler"},
    {"hub/admin", "jupyterhub.handlers.pages.AdminHandler"},
    {"hub/spawn", "jupyterhub.handlers.pages.SpawnHandler"},
    {"hub/spawn/{user}", "jupyterhub.handlers.pages.SpawnHandler"},
    {"hub/spawn/{user}/{server}", "jupyterhub.handlers.pages.SpawnHandler"},
    {"hub/spawn-pending/{user}", "jupyterhub.handlers.pages.SpawnPendingHandler"},
    {"hub/spawn-pending/{user}/{server}", "jupyterhub.handlers.pages.SpawnPendingHandler"},
    {"hub/token", "jupyterhub.handlers.pages.TokenPageHandler"},
    {"hub/error/{code}", "jupyterhub.handlers.pages.ProxyErrorHandler"},
    {"hub/health", "jupyterhub.handlers.pages.HealthCheckHandler"},
    {"hub/api/health", "jupyterhub.handlers.pages.HealthCheckHandler"},
    {"hub/login", "jupyterhub.handlers.login.LoginHandler"},
    {"hub/logout", "jupyterhub.handlers.login.LogoutHandler"},
    {"hub/oauth_login", "oauthenticator.oauth2.OAuthLoginHandler"},
    {"hub/oauth_callback", "oauthenticator.oauth2.OAuthCallbackHandler"},
    {"hub/user/{user}", "jupyterhub.handlers.base.UserUrlHandler"},
    {"hub/user/{user}/*", "jupyterhub.handlers.base.UserUrlHandler"},
    {"hub/metrics", "jupyterhub.handlers.metrics.MetricsHandler"},
    {"hub/api/metrics", "jupyterhub.handlers.metrics.MetricsHandler"},
    {"hub/api", "jupyterhub.apihandlers.hub.RootAPIHandler"},
    {"hub/api/", "jupyterhub.apihandlers.hub.RootAPIHandler"},
    {"hub/api/info", "jupyterhub.apihandlers.hub.InfoAPIHandler"},
    {"hub/api/shutdown", "jupyterhub.apihandlers.hub.ShutdownAPIHandler"},
    {"hub/api/proxy", "jupyterhub.apihandlers.proxy.ProxyAPIHandler"},
    {"hub/api/services", "jupyterhub.apihandlers.services.ServiceListAPIHandler"},
    {"hub/api/services/{name}", "jupyterhub.apihandlers.services.ServiceAPIHandler"},
    {"hub/api/authorizations/token", "jupyterhub.apihandlers.auth.TokenAPIHandler"},
    {"hub/api/authorizations/token/{token}", "jupyterhub.apihandlers.auth.TokenAPIHandler"},
    {"hub/api/oauth2/authorize", "jupyterhub.apihandlers.auth.OAuthAuthorizeHandler"},
    {"hub/api/oauth2/token", "jupyterhub.apihandlers.auth.OAuthTokenHandler"},
    {"hub/api/user", "jupyterhub.apihandlers.users.SelfAPIHandler"},
    {"hub/api/users", "jupyterhub.apihandlers.users.UserListAPIHandler"},
    {"hub/api/users/{name}", "jupyterhub.apihandlers.users.UserAPIHandler"},
    {"hub/api/users/{name}/server", "jupyterhub.apihandlers.users.UserServerAPIHandler"},
    {"hub/api/users/{name}/servers/{server}", "jupyterhub.apihandlers.users.UserServerAPIHandler"},
    {"hub/api/users/{name}/server/progress", "jupyterhub.apihandlers.users.SpawnProgressAPIHandler"},
    {"hub/api/users/{name}/servers/{server}/progress", "jupyterhub.apihandlers.users.SpawnProgressAPIHandler"},
    {"hub/api/users/{name}/tokens", "jupyterhub.apihandlers.users.UserTokenListAPIHandler"},
    {"hub/api/users/{name}/tokens/{id}", "jupyterhub.apihandlers.users.UserTokenAPIHandler"},
    {"hub/api/users/{name}/activity", "jupyterhub.apihandlers.users.ActivityAPIHandler"},
    {"hub/api/groups", "jupyterhub.apihandlers.groups.GroupListAPIHandler"},
    {"hub/api/groups/{name}", "jupyterhub.apihandlers.groups.GroupAPIHandler"},
    {"hub/api/groups/{name}/users", "jupyterhub.apihandlers.groups.GroupUsersAPIHandler"},
    {"hub/api/groups/{name}/properties", "jupyterhub.apihandlers.groups.GroupPropertiesAPIHandler"},
    {"hub/api/*", "jupyterhub.apihandlers.base.API404"},
};

// The reason label of a failed sign-in, from the OAuth callback's status (web/routes.cpp maps
// the flow's Errc to it): a flat set, never the message.
std::string_view sign_in_reason(unsigned status) {
  switch (status) {
    case 400: return "bad_request";        // no code/state, or the login cookie did not come back
    case 401:
    case 403: return "refused";            // the IdP refused, a token did not validate, not allowed
    case 404: return "unknown_provider";
    case 502: return "idp_bad_answer";
    case 503:
    case 504: return "idp_unavailable";
    case 500: return "internal";
    default: return "other";
  }
}

Result<std::vector<double>> parse_buckets(std::string const& name, std::string const& text) {
  std::vector<double> out;
  std::size_t i = 0;
  while (i <= text.size()) {
    auto j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    auto piece = text.substr(i, j - i);
    while (!piece.empty() && piece.front() == ' ') piece.erase(0, 1);
    while (!piece.empty() && piece.back() == ' ') piece.pop_back();
    char* end = nullptr;
    double v = std::strtod(piece.c_str(), &end);
    if (piece.empty() || end != piece.c_str() + piece.size())
      return Error{Errc::config, fmt::format("{}: \"{}\" is not a number (a comma-separated list of seconds, "
                                             "e.g. 0.5,1,2.5)", name, piece)};
    out.push_back(v);
    i = j + 1;
  }
  return out;
}

}  // namespace

std::string_view to_string(SpawnStatus s) {
  switch (s) {
    case SpawnStatus::success: return "success";
    case SpawnStatus::failure: return "failure";
    case SpawnStatus::already_pending: return "already-pending";
    case SpawnStatus::throttled: return "throttled";
    case SpawnStatus::too_many_users: return "too-many-users";
  }
  return "failure";
}

Result<HubMetricsOptions> metrics_options_from_env(std::map<std::string, std::string> const& env) {
  HubMetricsOptions o;
  auto get = [&](char const* k) -> std::string {
    auto it = env.find(k);
    return it == env.end() ? std::string() : it->second;
  };
  if (auto p = get("JUPYTERHUB_METRICS_PREFIX"); !p.empty()) o.prefix = p;
  for (auto [var, field] : {std::pair{"JUPYTERHUB_SERVER_SPAWN_DURATION_SECONDS_BUCKETS", &o.spawn_buckets},
                            std::pair{"JUPYTERHUB_SERVER_STOP_DURATION_SECONDS_BUCKETS", &o.stop_buckets}}) {
    auto text = get(var);
    if (text.find_first_not_of(' ') == std::string::npos) continue;
    auto b = parse_buckets(var, text);
    if (!b) return b.error();
    *field = std::move(*b);
  }
  return o;
}

HubMetrics::HubMetrics(HubMetricsOptions opts)
    : opts_(std::move(opts)),
      registry_(opts_.prefix),
      request_duration(registry_.histogram(registry_.prefixed("request_duration_seconds"),
                                           "Request duration for all HTTP requests", {"method", "handler", "code"})),
      spawn_duration(registry_.histogram(registry_.prefixed("server_spawn_duration_seconds"),
                                         "Time taken for server spawning operation", {"status"},
                                         or_default(opts_.spawn_buckets, kSpawnBuckets))),
      running_servers(registry_.gauge(registry_.prefixed("running_servers"), "The number of user servers currently running")),
      total_users(registry_.gauge(registry_.prefixed("total_users"), "Total number of users")),
      active_users(registry_.gauge(registry_.prefixed("active_users"),
                                   "Number of users who were active in the given time period", {"period"})),
      check_routes_duration(registry_.histogram(registry_.prefixed("check_routes_duration_seconds"),
                                                "Time taken to validate all routes in proxy")),
      hub_startup_duration(registry_.histogram(registry_.prefixed("hub_startup_duration_seconds"), "Time taken for Hub to start")),
      init_spawners_duration(registry_.histogram(registry_.prefixed("init_spawners_duration_seconds"),
                                                 "Time taken for spawners to initialize")),
      proxy_poll_duration(registry_.histogram(registry_.prefixed("proxy_poll_duration_seconds"),
                                              "Duration for polling all routes from proxy")),
      proxy_add_duration(registry_.histogram(registry_.prefixed("proxy_add_duration_seconds"),
                                             "Duration for adding user routes to proxy", {"status"})),
      server_poll_duration(registry_.histogram(registry_.prefixed("server_poll_duration_seconds"),
                                               "Time taken to poll if server is running", {"status"})),
      server_stop_duration(registry_.histogram(registry_.prefixed("server_stop_seconds"),
                                               "Time taken for server stopping operation", {"status"},
                                               or_default(opts_.stop_buckets, metrics::default_buckets()))),
      proxy_delete_duration(registry_.histogram(registry_.prefixed("proxy_delete_duration_seconds"),
                                                "Duration for deleting user routes from proxy", {"status"})),
      login_duration(registry_.histogram(registry_.prefixed("login_duration_seconds"),
                                         "duration for all authentication attempts", {"status"})),
      logout_duration(registry_.histogram(registry_.prefixed("logout_duration_seconds"), "duration for all logout requests")),
      event_loop_interval_seconds(registry_.histogram(registry_.prefixed("event_loop_interval_seconds"),
                                                      "Distribution of measured event loop intervals", {},
                                                      kEventLoopBuckets)),
      sign_in_failures(registry_.counter("nbhub_sign_in_failures_total",
                                         "Sign-ins that ended in an error page at the OAuth callback, by reason", {"reason"})),
      idp_request_duration(registry_.histogram("nbhub_idp_request_duration_seconds",
                                               "Calls to identity providers, by provider, endpoint and outcome",
                                               {"provider", "endpoint", "outcome"}, kIdpBuckets)),
      token_refreshes(registry_.counter("nbhub_token_refreshes_total",
                                        "Refresh-token grants sent to identity providers, by outcome", {"outcome"})),
      store_query_duration(registry_.histogram("nbhub_store_query_duration_seconds",
                                               "Database transactions, by store operation", {"operation"}, kStoreBuckets)),
      spawn_queue(registry_.gauge("nbhub_spawn_queue", "Spawns waiting for a slot (queued) and holding one (spawning)",
                                  {"state"})),
      service_restarts(registry_.counter("nbhub_service_restarts_total",
                                         "Restarts of managed services, by service and why the last run ended "
                                         "(exit, signal, launch_failed)",
                                         {"service", "reason"})),
      service_up(registry_.gauge("nbhub_service_up", "1 while a managed service's process runs, else 0",
                                 {"service"})) {
  // As jupyterhub/metrics.py: every status child exists from the start, so that dashboards
  // and alerts see zeros rather than nothing.
  for (auto s : {SpawnStatus::success, SpawnStatus::failure, SpawnStatus::already_pending, SpawnStatus::throttled,
                 SpawnStatus::too_many_users})
    spawn_duration.labels({to_string(s)});
  for (auto s : {"success", "failure"}) {
    proxy_add_duration.labels({s});
    proxy_delete_duration.labels({s});
    server_stop_duration.labels({s});
    login_duration.labels({s});
  }
  for (auto s : {"running", "stopped"}) server_poll_duration.labels({s});
  for (auto p : {"24h", "7d", "30d"}) active_users.labels({p});
  running_servers.get();
  total_users.get();
  check_routes_duration.get();
  hub_startup_duration.get();
  init_spawners_duration.get();
  proxy_poll_duration.get();
  logout_duration.get();
  event_loop_interval_seconds.get();
  for (auto r : {"bad_request", "refused", "unknown_provider", "idp_bad_answer", "idp_unavailable", "internal"})
    sign_in_failures.labels({r});
  for (auto o : {"success", "refused", "error"}) token_refreshes.labels({o});
  metrics::add_process_metrics(registry_);
}

std::string HubMetrics::handler_name(std::string_view pattern) const {
  if (pattern.empty()) return "jupyterhub.handlers.pages.Template404";
  std::lock_guard lock(names_mu_);
  if (auto it = names_.find(pattern); it != names_.end()) return it->second;
  auto rel = pattern;
  if (rel.starts_with(opts_.route_base)) rel.remove_prefix(opts_.route_base.size());
  std::string name;
  for (auto const& h : kHandlers)
    if (h.pattern == rel) name = std::string(h.handler);
  if (name.empty()) name = "nbhub:/" + std::string(rel);
  names_.emplace(std::string(pattern), name);
  return name;
}

void HubMetrics::observe_request(std::string_view method, std::string_view route, unsigned status,
                                 std::chrono::steady_clock::duration took) {
  auto handler = handler_name(route);
  auto code = std::to_string(status);
  request_duration.labels({method, handler, code}).observe(seconds(took));
  if (handler == "oauthenticator.oauth2.OAuthCallbackHandler") {
    bool ok = status >= 300 && status < 400;
    login_duration.labels({ok ? "success" : "failure"}).observe(seconds(took));
    if (!ok) sign_in_failures.labels({sign_in_reason(status)}).inc();
  } else if (handler == "jupyterhub.handlers.login.LogoutHandler") {
    logout_duration.get().observe(seconds(took));
  }
}

void HubMetrics::spawn_finished(SpawnStatus s, std::chrono::steady_clock::duration took) {
  spawn_duration.labels({to_string(s)}).observe(seconds(took));
}
void HubMetrics::stop_finished(bool ok, std::chrono::steady_clock::duration took) {
  server_stop_duration.labels({ok ? "success" : "failure"}).observe(seconds(took));
}
void HubMetrics::poll_finished(PollStatus s, std::chrono::steady_clock::duration took) {
  server_poll_duration.labels({s == PollStatus::running ? "running" : "stopped"}).observe(seconds(took));
}
void HubMetrics::proxy_add_finished(bool ok, std::chrono::steady_clock::duration took) {
  proxy_add_duration.labels({ok ? "success" : "failure"}).observe(seconds(took));
}
void HubMetrics::proxy_delete_finished(bool ok, std::chrono::steady_clock::duration took) {
  proxy_delete_duration.labels({ok ? "success" : "failure"}).observe(seconds(took));
}
void HubMetrics::check_routes_finished(std::chrono::steady_clock::duration took) {
  check_routes_duration.get().observe(seconds(took));
}
void HubMetrics::hub_started(std::chrono::steady_clock::duration took) { hub_startup_duration.get().observe(seconds(took)); }
void HubMetrics::spawners_initialised(std::chrono::steady_clock::duration took) {
  init_spawners_duration.get().observe(seconds(took));
}
void HubMetrics::idp_call(std::string_view provider, std::string_view endpoint, std::string_view outcome,
                          std::chrono::steady_clock::duration took) {
  idp_request_duration.labels({provider, endpoint, outcome}).observe(seconds(took));
}
void HubMetrics::token_refresh(std::string_view outcome) { token_refreshes.labels({outcome}).inc(); }
void HubMetrics::event_loop_interval(std::chrono::steady_clock::duration delay) {
  event_loop_interval_seconds.get().observe(seconds(delay));
}

store::Store::QueryObserver HubMetrics::store_observer() {
  return [this](std::string_view operation, std::chrono::nanoseconds took, bool) {
    store_query_duration.labels({operation}).observe(std::chrono::duration<double>(took).count());
  };
}

Result<void> HubMetrics::refresh_user_counts(store::Store& store, Clock::SysTime now) {
  using namespace std::chrono;
  std::array<Clock::SysTime, 3> cutoffs{now - hours(24), now - hours(24 * 7), now - hours(24 * 30)};
  auto counts = store.count_user_activity(cutoffs);
  if (!counts) return counts.error();
  total_users.get().set(static_cast<double>(counts->total));
  char const* periods[] = {"24h", "7d", "30d"};
  for (std::size_t i = 0; i < cutoffs.size() && i < counts->active_since.size(); ++i)
    active_users.labels({periods[i]}).set(static_cast<double>(counts->active_since[i]));
  return {};
}

void HubMetrics::watch(ServerManager const& servers, spawn::SpawnQueue const& queue, proxy::ProxyStats const& proxy) {
  auto& running = running_servers.get();
  auto& queued = spawn_queue.labels({"queued"});
  auto& spawning = spawn_queue.labels({"spawning"});
  registry_.on_collect([&servers, &queue, &running, &queued, &spawning] {
    running.set(static_cast<double>(servers.running_count()));
    queued.set(static_cast<double>(queue.queued()));
    spawning.set(static_cast<double>(queue.spawning()));
  });
  auto load = [](auto const& a) { return [&a] { return static_cast<double>(a.load(std::memory_order_relaxed)); }; };
  registry_.callback(Type::counter, "nbhub_proxy_requests_total",
                     "Requests the built-in proxy relayed to servers and services (WebSocket upgrades included)",
                     load(proxy.requests));
  registry_.callback(Type::counter, "nbhub_proxy_upstream_errors_total",
                     "Proxied requests answered 502/503/504 by the proxy because the upstream failed",
                     load(proxy.upstream_errors));
  registry_.callback(Type::counter, "nbhub_proxy_request_bytes_total",
                     "Body bytes the proxy relayed from clients to servers (WebSocket frames included)",
                     load(proxy.bytes_to_upstream));
  registry_.callback(Type::counter, "nbhub_proxy_response_bytes_total",
                     "Body bytes the proxy relayed from servers to clients (WebSocket frames included)",
                     load(proxy.bytes_to_client));
  registry_.callback(Type::counter, "nbhub_proxy_websockets_opened_total", "WebSocket tunnels the proxy opened",
                     load(proxy.tunnels_opened));
  registry_.callback(Type::gauge, "nbhub_proxy_websockets_open", "WebSocket tunnels open now", load(proxy.tunnels_open));
}

boost::asio::awaitable<void> measure_event_loop(HubMetrics& metrics, spdlog::logger& log,
                                                std::chrono::milliseconds resolution,
                                                std::chrono::milliseconds warn_after) {
  namespace net = boost::asio;
  net::steady_timer timer(co_await net::this_coro::executor);
  auto last = std::chrono::steady_clock::now();
  for (;;) {
    timer.expires_after(resolution);
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    auto now = std::chrono::steady_clock::now();
    auto tick = now - last;
    last = now;
    // As JupyterHub: below twice the resolution the measurement cannot tell, so it counts as
    // the resolution itself.
    auto delay = tick < 2 * resolution ? std::chrono::steady_clock::duration(resolution) : tick - resolution;
    if (delay >= warn_after)
      log.warn("the hub's event loop was unresponsive for at least {:.2f} s", std::chrono::duration<double>(delay).count());
    metrics.event_loop_interval(delay);
  }
}

}  // namespace nbhub::hub
