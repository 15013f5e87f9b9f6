#include "app/hub_app.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <thread>

#include "app/chp_mirror.hpp"
#include "app/config_reloader.hpp"
#include "app/local_spawner_setup.hpp"
#include "app/provider_setup.hpp"
#include "app/logging.hpp"
#include "app/managed_services_setup.hpp"
#include "app/runtime_services.hpp"
#include "app/acme_command.hpp"  // acme_holder_id
#include "app/public_tls.hpp"
#include "app/spawner_reload.hpp"
#include "config/spawner_traits.hpp"
#include "auth/login_flow.hpp"
#include "auth/password_login.hpp"
#include "auth/provider.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "http/client_impl.hpp"
#include "http/io_loop.hpp"
#include "http/listener.hpp"
#include "hub/cookie_secret.hpp"
#include "hub/hub_metrics.hpp"
#include "hub/job_lease.hpp"
#include "hub/route_sync.hpp"
#include "hub/metered_http_client.hpp"
#include "hub/login_service.hpp"
#include "hub/oauth_provider.hpp"
#include "hub/python_hooks.hpp"
#include "spawn/profile_spawner.hpp"
#include "spawn/spawner_overrides.hpp"
#include "hub/blocking.hpp"
#include "config/pyeval.hpp"
#include "hub/roles.hpp"
#include "hub/service_supervisor.hpp"
#include "hub/services.hpp"
#include "hub/share_access.hpp"
#include "hub/shares.hpp"
#include "hub/servers.hpp"
#include "hub/bearer_auth.hpp"
#include "hub/token_refresher.hpp"
#include "hub/tokens.hpp"
#include "proxy/proxy.hpp"
#include "proxy/route_table.hpp"
#include "spawn/docker_spawner.hpp"
#include "spawn/kube_spawner.hpp"
#include "spawn/local_spawner.hpp"
#include "spawn/process.hpp"
#include "spawn/spawn_queue.hpp"
#include "web/api_common.hpp"
#include "web/cors.hpp"
#include "web/handler_hooks.hpp"
#include "web/logo.hpp"
#include "web/base_url.hpp"
#include "web/proxy_error_page.hpp"
#include "web/metrics_route.hpp"
#include "web/request_auth.hpp"
#include "web/server_pages.hpp"
#include "web/share_pages.hpp"
#include "web/server_routes.hpp"
#include "web/token_routes.hpp"
#include "jwt/jwks_cache.hpp"
#include "store/crypt_keeper.hpp"
#include "store/postgres_connection.hpp"  // redact_postgres_url
#include "store/pg_listener.hpp"
#include "store/process_lock.hpp"
#include "store/store_url.hpp"
#include "store/store.hpp"
#include "web/routes.hpp"

namespace nbhub::app {

namespace net = boost::asio;

namespace {

// Every configured provider resolved (app/provider_setup.hpp), before the listeners start.
Result<std::vector<config::ProviderConfig>> resolve_providers(config::HubConfig const& cfg,
                                                              net::io_context& ioc,
                                                              http::HttpClient& http,
                                                              spdlog::logger& log) {
  std::vector<config::ProviderConfig> out;
  for (auto const& raw : cfg.auth.providers) {
    auto p = net::co_spawn(ioc, resolve_provider(raw, http, log), net::use_future).get();
    if (!p) return p.error();
    out.push_back(std::move(*p));
  }
  return out;
}

// The Python hook helper and the spawner that calls it, when jupyterhub_config.py assigned
// functions to hook traits (config/pyeval.hpp, hub/python_hooks.hpp); both null otherwise.
struct PythonHooks {
  std::unique_ptr<hub::PythonHelper> helper;
  std::unique_ptr<hub::PythonHookSpawner> spawner;
  hub::HookUserLookup users;
  bool has(std::string_view suffix, config::HubConfig const& cfg) const {
    return helper && std::any_of(cfg.python.hooks.begin(), cfg.python.hooks.end(),
                                 [suffix](std::string const& h) { return h.ends_with(suffix); });
  }
  bool has_exactly(std::string_view hook, config::HubConfig const& cfg) const {
    return helper && std::find(cfg.python.hooks.begin(), cfg.python.hooks.end(), hook) != cfg.python.hooks.end();
  }
};

Result<PythonHooks> make_python_hooks(config::HubConfig const& cfg, net::any_io_executor ex, spawn::ProfileSpawner& inner,
                                      store::Store& st, net::thread_pool& blocking,
                                      hub::TokenRefresher*& refresher, spdlog::logger& log) {
  PythonHooks out;
  if (cfg.python.hooks.empty()) return out;
  char const* path = std::getenv("PATH");
  auto python = config::pyeval::find_executable(cfg.python.executable, path ? path : "/usr/bin:/bin");
  if (!python) return Error{Errc::config, fmt::format("{} is needed for the hooks in {} but is not in PATH",
                                                      cfg.python.executable, cfg.python.evaluated_file)};
  out.helper = std::make_unique<hub::PythonHelper>(
      ex, hub::PythonHelper::Options{*python, cfg.python.helper_context, cfg.python.hook_timeout, cfg.python.max_output_bytes},
      log);
  // What hooks see of the user: admin and groups from the store, auth_state through the token
  // refresher (fresh tokens when the provider allows), None when the hub keeps none.
  hub::HookUserLookup users = [&st, &blocking, &refresher](std::string const& name) -> net::awaitable<Result<hub::HookUser>> {
    auto fetch = [&st, name] { return st.get_user(name); };  // named: GCC 12 and coroutines
    auto row = co_await hub::run_blocking(blocking, std::move(fetch));
    if (!row) co_return row.error();
    hub::HookUser u;
    u.admin = row->admin;
    u.groups = row->groups;
    if (refresher) {
      auto state = co_await refresher->fresh_auth_state(name);
      if (state) u.auth_state = std::move(*state);
    }
    co_return u;
  };
  // The spawner's hooks; JupyterHub.default_url is the handler's (web/handler_hooks.hpp).
  auto has = [&cfg](std::string_view suffix) {
    return std::any_of(cfg.python.hooks.begin(), cfg.python.hooks.end(), [suffix](std::string const& h) {
      return h.ends_with(suffix) && !h.starts_with("JupyterHub.");
    });
  };
  std::function<bool(std::string_view)> applies;
  if (cfg.spawner == "kubernetes") applies = [](std::string_view) { return true; };
  else {
    auto const target = cfg.spawner == "docker" ? spawn::OverrideTarget::docker : spawn::OverrideTarget::local;
    applies = [target](std::string_view t) { return spawn::override_problem(target, t).empty(); };
  }
  hub::PythonHookSpawner::SpawnHooks hooks{
      .spawn = has(".pre_spawn_hook") || has(".auth_state_hook") || has(".default_url") ||
               (cfg.spawner == "docker" && has(".extra_create_kwargs")),
      .modify_pod = cfg.spawner == "kubernetes" && has(".modify_pod_hook"),
      .options_form = has(".options_form"),
      .options_from_form = has(".options_from_form"),
      .applies_trait = std::move(applies)};
  if (has(".profile_list"))
    inner.set_source(hub::profile_list_hook(*out.helper, cfg.python.spawner_sections, users, log));
  out.users = users;
  if (hooks.spawn || hooks.modify_pod || hooks.options_form || hooks.options_from_form)
    out.spawner = std::make_unique<hub::PythonHookSpawner>(inner, *out.helper, cfg.python.spawner_sections, hooks,
                                                           std::move(users), log);
  log.info("python hooks: {} (each call within {} s, helper {})", fmt::join(cfg.python.hooks, ", "),
           cfg.python.hook_timeout.count(), *python);
  return out;
}

proxy::ProxyConfig proxy_config(config::HubConfig const& cfg) {
  proxy::ProxyConfig out;
  out.connect_timeout = std::chrono::duration_cast<proxy::Millis>(cfg.proxy.connect_timeout);
  out.idle_timeout = std::chrono::duration_cast<proxy::Millis>(cfg.proxy.idle_timeout);
  out.stall_timeout = std::chrono::duration_cast<proxy::Millis>(cfg.proxy.stall_timeout);
  out.buffer_bytes = cfg.proxy.buffer_bytes;
  out.access_json = cfg.log_format == "json";
  // The proxy streams servers and services; everything else is the hub's router. It compares
  // decoded request paths, so the prefixes are decoded too (base_url "/@/space%20word/").
  auto const base = web::route_prefix(cfg.base_url);
  out.claim_prefixes = {base + "user/", base + "services/"};
  return out;
}

struct BindAddress {
  std::string ip;
  std::uint16_t port = 0;
};

Result<BindAddress> parse_bind_url(std::string const& url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || u->scheme() != "http" || !u->has_port())
    return Error{Errc::config, fmt::format("hub_bind_url \"{}\" must look like http://127.0.0.1:8081", url)};
  std::string host(u->host());
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return BindAddress{host, static_cast<std::uint16_t>(u->port_number())};
}

// Runs `round` every `every()` (read before each wait: a reload may change it) until the
// io_context stops; each round's failure is logged, never fatal.
net::awaitable<void> periodically(std::function<std::chrono::seconds()> every,
                                  std::function<net::awaitable<void>()> round) {
  net::steady_timer timer(co_await net::this_coro::executor);
  for (;;) {
    // 0 would spin: a round per second at most.
    timer.expires_after(std::max<std::chrono::seconds>(every(), std::chrono::seconds(1)));
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    co_await round();
  }
}

// Built-in culling, following reloads: each round reads the settings in effect. A disabled
// culler looks again every minute; a new `every` applies from the round after the current wait.
// With replicas, only the holder of the lease "job cull" culls (`held`); the others skip rounds.
net::awaitable<void> cull_loop(SnapshotRef<config::HubConfig> live, hub::ServerManager& servers,
                               std::function<bool()> held) {
  net::steady_timer timer(co_await net::this_coro::executor);
  for (;;) {
    auto const before = live.load()->cull;
    // every_seconds = 0 would spin: a round per second at most.
    timer.expires_after(before.enabled ? std::max<std::chrono::seconds>(before.every, std::chrono::seconds(1))
                                       : std::chrono::seconds(60));
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    auto const c = live.load()->cull;
    if (c.enabled && (!held || held())) co_await servers.cull(c.timeout, c.max_age);
  }
}

}  // namespace

int run_hub(config::HubConfig const& cfg, std::map<std::string, std::string> const& env, ReloadSource source) {
  auto const startup_t0 = std::chrono::steady_clock::now();
  auto logs = make_loggers({.level = cfg.log_level, .format = cfg.log_format, .access = cfg.access_log});
  auto& log = *logs.hub;
  try {
    SystemClock clock;
    OpenSslRandom random;
    // hub_threads (config.hpp says why one by default). A hint of 1 also spares the scheduler's
    // cross-thread wake-ups; it still locks, as other threads post here. 0: the hub's work
    // shares the proxy's threads, and a hub request needs no hop between threads at all.
    // (Declared before the proxy's, so destroyed after it, as when it was always there.)
    auto const threads = static_cast<unsigned>(cfg.hub_threads);
    std::optional<net::io_context> own_ioc;
    if (threads > 0) own_ioc.emplace(static_cast<int>(threads));
    // The public port (the proxy) has threads of its own, so that proxied bytes never queue
    // behind hub work; hub threads post the results of hub requests back to it.
    auto const proxy_threads = static_cast<unsigned>(cfg.proxy.threads);
    net::io_context proxy_ioc(http::io_concurrency_hint(proxy_threads));
    net::io_context& ioc = own_ioc ? *own_ioc : proxy_ioc;
    net::thread_pool blocking(2);
    auto work = net::make_work_guard(ioc);
    auto proxy_work = net::make_work_guard(proxy_ioc);
    std::vector<std::thread> io_threads;
    for (unsigned i = 0; i < threads; ++i) io_threads.emplace_back([&] { ioc.run(); });
    // One proxy thread polls briefly before it sleeps (http/io_loop.hpp); several just run.
    auto const busy_poll =
        std::chrono::microseconds(proxy_threads == 1 ? cfg.proxy.busy_poll_microseconds : 0);
    for (unsigned i = 0; i < proxy_threads; ++i)
      io_threads.emplace_back([&proxy_ioc, busy_poll] { http::run_io_context(proxy_ioc, busy_poll); });
    auto join = [&] {
      work.reset();
      proxy_work.reset();
      ioc.stop();
      proxy_ioc.stop();
      for (auto& t : io_threads) t.join();
      blocking.join();
    };

    auto fail = [&](std::string const& msg, int code) {
      log.critical("{}", msg);
      join();
      return code;
    };
    // Everything below may throw (a port in use, say): the I/O threads must be joined before
    // returning, or std::thread's destructor would abort the process without a word.
    try {

    // The configuration the live parts read per request; a reload swaps it (config_reloader.hpp).
    // `cfg` stays what start-up built from: restart-only options never change in the snapshot.
    Snapshot<LiveConfig> live(LiveConfig{cfg, std::move(source.provenance), source.config_file, 0});
    SnapshotRef<config::HubConfig> live_hub(live, &LiveConfig::hub);
    SnapshotRef<config::AuthConfig> live_auth(live_hub, &config::HubConfig::auth);

    auto logo = web::load_logo(cfg.logo_file);
    if (!logo) return fail(logo.error().message, 2);

    // Prometheus metrics (docs/metrics.md), first: the store and the listeners record into them.
    auto metrics_opts = hub::metrics_options_from_env(env);
    if (!metrics_opts) return fail(metrics_opts.error().message, 2);
    metrics_opts->route_base = web::route_prefix(cfg.base_url);
    hub::HubMetrics metrics(std::move(*metrics_opts));

    auto secret = hub::load_or_create_cookie_secret(cfg.cookie_secret_file, env, random);
    if (!secret) return fail(secret.error().message, 2);

    auto lookup = [&env](std::string const& k) -> std::optional<std::string> {
      auto it = env.find(k);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    auto crypt = store::CryptKeeper::from_env(random, lookup);
    if (!crypt) return fail(crypt.error().message, 2);
    if (cfg.auth.enable_auth_state && !crypt->enabled())
      log.warn("{}", store::CryptKeeper::disabled_warning());

    // With SQLite, one process (docs/replicas.md): a second hub on the file stops here, held
    // for the whole run.
    auto db_lock = store::ProcessLock::for_database(cfg.db_url);
    if (!db_lock) return fail(db_lock.error().message, 1);
    store::StoreOptions store_options;
    store_options.pool_size = static_cast<int>(cfg.db_pool_size);
    auto st = store::Store::open(cfg.db_url, clock, store_options);
    if (!st) return fail(st.error().message, 1);
    (*st)->set_query_observer(metrics.store_observer());
    auto version = (*st)->migrate();
    if (!version) return fail(version.error().message, 1);
    log.info("database {} at schema version {}", store::redact_postgres_url(cfg.db_url), *version);
    // This process among the replicas sharing the database (docs/replicas.md): the holder name
    // of its leases, in the logs so an operator can tell which replica runs which job.
    auto const replica_id = acme_holder_id(random);
    log.info("replica id {}", replica_id);

    http::BeastHttpClient http(ioc, cfg.http_client, log);
    // What talks to identity providers goes through idp_http, which times each call.
    hub::MeteredHttpClient idp_http(http, metrics);
    jwt::JwksCache jwks(idp_http, clock, {.unknown_kid_refetch_interval = cfg.auth.jwks_refetch_interval, .log = logs.hub});
    auto providers = resolve_providers(cfg, ioc, http, log);
    if (!providers) return fail(providers.error().message, 2);
    for (auto const& p : *providers) idp_http.add_provider(p);

    // How each provider signs people in (auth/provider.hpp): OAuth ones through the login
    // flow, dummy ones with the password form; null ones offer nothing (an API-only hub).
    std::vector<config::ProviderConfig> oauth_providers, form_providers;
    for (auto& p : *providers) {
      auto const how = auth::sign_in_of(p);
      if (how == auth::SignIn::redirect) oauth_providers.push_back(std::move(p));
      else if (how == auth::SignIn::password_form) form_providers.push_back(std::move(p));
    }
    auth::LoginStateSealer sealer(*secret, clock, random, cfg.auth.login_state_ttl);
    auth::LoginFlow flow(std::move(oauth_providers), live_auth, idp_http, jwks, clock, random, sealer, log);
    auth::PasswordLogin passwords(std::move(form_providers), live_auth, sealer, clock, random, log);
    hub::LoginService logins(live_auth, **st, crypt->enabled() ? &*crypt : nullptr, clock, random, blocking, log);

    // Listeners are bound first: servers must be told the hub API's real port.
    auto hub_bind = parse_bind_url(cfg.hub_bind_url);
    if (!hub_bind) return fail(hub_bind.error().message, 2);
    // https on the public port (docs/tls.md): the pair is checked now, exit 2 naming the file.
    std::unique_ptr<PublicTls> public_tls;
    PublicTlsOptions const tls_opts{.check_interval = cfg.tls.check_interval,
                                    .ticket_key_rotation = cfg.tls.ticket_key_rotation};
    if (!cfg.ssl_cert.empty()) {
      // SIGHUP reads the files again through the reloader's handler (below): one handler, one
      // account of what the signal did.
      auto file_opts = tls_opts;
      file_opts.own_sighup = false;
      auto loaded = PublicTls::load(ioc, cfg.ssl_cert, cfg.ssl_key, log, file_opts);
      if (!loaded) return fail(loaded.error().message, 2);
      public_tls = std::move(*loaded);
    } else if (cfg.acme.enabled()) {  // [tls.acme] (docs/acme.md): the pairs come from the store
      if (!crypt->enabled())
        return fail("tls.acme needs NBHUB_CRYPT_KEY (or JUPYTERHUB_CRYPT_KEY): the ACME account key and "
                    "certificates are stored encrypted in the database", 2);
      public_tls = PublicTls::without_files(ioc, log, tls_opts);
      public_tls->enable_acme(cfg, **st, *crypt, clock, replica_id, blocking.get_executor(), *logs.access);
    }
    http::Router router;
    proxy::RouteTable routes(clock);
    proxy::AccessGate access_gate(clock);  // revoked shares (hub/share_access.hpp); outlives the proxy
    proxy::Proxy proxy(proxy_ioc.get_executor(), proxy_config(cfg), routes, clock, *logs.access, log);
    proxy.set_access_gate(&access_gate);
    proxy.set_error_responder(web::proxy_error_responder(web::url_prefix(cfg.base_url)));  // the hub's styled pages
    http::ListenerOptions lo{.limits = cfg.http, .trusted_proxies = cfg.trusted_proxies,
                             .public_https = cfg.public_url.starts_with("https://"),
                             .tls = public_tls ? &public_tls->server() : nullptr,
                             .hsts_max_age = cfg.hsts_max_age,
                             .interceptor = &proxy, .single_thread = proxy_threads == 1,
                             .handler_executor = own_ioc ? std::optional(ioc.get_executor()) : std::nullopt,
                             .observer = web::request_observer(metrics), .request_ids = true,
                             .access_json = cfg.log_format == "json"};
    auto listener = std::make_shared<http::Listener>(proxy_ioc, router, lo, *logs.access, log);
    listener->bind(cfg.ip, cfg.port);
    http::ListenerOptions hub_lo{.limits = cfg.http, .name = "hub API", .observer = web::request_observer(metrics),
                                 .request_ids = true, .access_json = cfg.log_format == "json"};
    auto hub_listener = std::make_shared<http::Listener>(ioc, router, hub_lo, *logs.access, log);
    hub_listener->bind(hub_bind->ip, hub_bind->port);
    auto connect_url = cfg.hub_connect_url.empty()
                           ? fmt::format("http://{}:{}", hub_bind->ip == "0.0.0.0" || hub_bind->ip.empty() ? "127.0.0.1" : hub_bind->ip, hub_listener->port())
                           : cfg.hub_connect_url;
    while (!connect_url.empty() && connect_url.back() == '/') connect_url.pop_back();

    hub::TokenService tokens(**st, clock, random, blocking);
    hub::OAuthProvider oauth(**st, tokens, clock, random, blocking, cfg.auth.cookie_max_age, cfg.admin_access, log);
    spawn::PosixProcessRunner runner(ioc.get_executor(), log);
    auto spawner_settings = config::apply_spawner_traits(cfg.spawner_settings, cfg.spawner_options);
    if (!spawner_settings) return fail(spawner_settings.error().message, 2);
    bool docker = cfg.spawner == "docker";
    bool kubernetes = cfg.spawner == "kubernetes";
    // Homes of their own, the hub's files out of their reach, root servers only when allowed.
    auto local_cfg = local_spawner_config(cfg, *spawner_settings, spawner_config(*spawner_settings), ::geteuid());
    if (!docker && !kubernetes) {
      if (auto ok = spawn::check_env_keep(local_cfg.env_keep); !ok) return fail(ok.error().message, 2);
      log_local_spawner(local_cfg, ::geteuid(), log);
    }
    spawn::LocalSpawner local_spawner(std::move(local_cfg), runner, blocking, clock, log);
    // spawner.kind = "docker" (or c.JupyterHub.spawner_class = DockerSpawner): containers through
    // the Engine API, configured by the DockerSpawner.* traits in spawner_options.
    std::unique_ptr<spawn::DockerSpawner> docker_spawner;
    if (docker) {
      auto dcfg = spawn::docker_config_from_traits({}, cfg.spawner_options, spawn::process_env_lookup());
      if (!dcfg) return fail(dcfg.error().message, 2);
      docker_spawner = std::make_unique<spawn::DockerSpawner>(spawner_config(*spawner_settings), *dcfg, http, log);
      log.info("spawner: docker, image {}, network {}, socket {}", dcfg->image, dcfg->network_name, dcfg->socket_path);
    }
    // spawner.kind = "kubernetes" (or c.JupyterHub.spawner_class = KubeSpawner): pods through
    // the API server, configured by the KubeSpawner.* traits, with an HTTP client of its own
    // that trusts the cluster's CA.
    auto queue_cfg = spawner_config(*spawner_settings);
    std::unique_ptr<http::BeastHttpClient> kube_http;
    std::unique_ptr<spawn::kube::KubeSpawner> kube_spawner;
    if (kubernetes) {
      auto kcfg = kube_config(cfg, *spawner_settings);
      if (!kcfg) return fail(kcfg.error().message, 2);
      auto hc = cfg.http_client;
      hc.ca_file = kcfg->api.ca_file;
      hc.tls_verify = kcfg->api.verify_tls;
      hc.request_timeout = kcfg->request_timeout;
      hc.max_response_bytes = std::max<std::size_t>(hc.max_response_bytes, 64u << 20);  // pod lists
      kube_http = std::make_unique<http::BeastHttpClient>(ioc, hc, log);
      queue_cfg.start_timeout = spawn::kube::KubeSpawner::overall_start_timeout(*kcfg);
      log.info("spawner: kubernetes, API {}, namespace {}, image {}", kcfg->api.url, kcfg->namespace_, kcfg->image);
      kube_spawner = std::make_unique<spawn::kube::KubeSpawner>(spawner_config(*spawner_settings), std::move(*kcfg),
                                                                *kube_http, ioc.get_executor(), log);
    }
    spawn::Spawner& base_spawner = kube_spawner     ? static_cast<spawn::Spawner&>(*kube_spawner)
                                   : docker_spawner ? static_cast<spawn::Spawner&>(*docker_spawner)
                                                    : local_spawner;
    // Profile lists (KubeSpawner's schema) in front of every spawner (spawn/profile_spawner.hpp).
    auto profiles = profile_setup(cfg);
    if (!profiles) return fail(profiles.error().message, 2);
    if (!profiles->profiles.empty()) log.info("spawner: {} server profiles", profiles->profiles.size());
    spawn::ProfileSpawner profile_spawner(base_spawner, profiles->schema, std::move(profiles->profiles), log);
    // jupyterhub_config.py's pre_spawn_hook / auth_state_hook, run by the Python hook helper.
    hub::TokenRefresher* hook_refresher = nullptr;  // set below, before the first spawn
    auto python_hooks = make_python_hooks(cfg, ioc.get_executor(), profile_spawner, **st, blocking, hook_refresher, log);
    if (!python_hooks) return fail(python_hooks.error().message, 2);
    spawn::Spawner& spawner = python_hooks->spawner ? static_cast<spawn::Spawner&>(*python_hooks->spawner)
                                                    : static_cast<spawn::Spawner&>(profile_spawner);
    if (python_hooks->helper &&
        std::any_of(cfg.python.hooks.begin(), cfg.python.hooks.end(), [](auto const& h) { return h.ends_with(".username_claim"); }))
      flow.set_username_hook("default", hub::username_claim_hook(*python_hooks->helper, cfg.python.authenticator_sections));
    bool const decides_access = python_hooks->has(".check_allowed", cfg) || python_hooks->has(".check_blocked_users", cfg);
    if (decides_access || python_hooks->has(".post_auth_hook", cfg) || python_hooks->has(".modify_auth_state_hook", cfg)) {
      auto sections = cfg.python.authenticator_sections;
      if (sections.empty()) sections = {"Authenticator"};
      logins.set_auth_hook(hub::auth_hook(*python_hooks->helper, std::move(sections)), decides_access);
    }
    std::atomic<std::chrono::seconds::rep> poll_seconds{spawner_settings->poll_interval.count()};
    hub::ServerManager* servers_ptr = nullptr;
    spawn::SpawnQueue queue(queue_cfg, spawner, http, clock, log,
                            [&servers_ptr] { return servers_ptr ? servers_ptr->running_count() : 0; });
    // Servers' URLs and the API URL they are given are encoded (their routes are decoded).
    auto const url_base = web::url_prefix(cfg.base_url);
    auto const parsed_db = store::StoreUrl::parse(cfg.db_url);
    bool const shared_store = parsed_db && parsed_db->kind == store::StoreUrl::Kind::postgresql;
    hub::ServersConfig scfg{.replica_id = replica_id, .shared_store = shared_store, .lease_ttl = cfg.replica_lease,
                            .base_url = url_base, .hub_api_url = connect_url + url_base + "hub/api",
                            .public_url = cfg.public_url,
                            .allow_named_servers = cfg.spawner_settings.allow_named_servers,
                            .allow_invalid_named_server_start =
                                cfg.spawner_settings.allow_existing_invalid_named_servers == "allow-start"};
    hub::ServerManager servers(scfg, ioc, **st, tokens, spawner, queue, routes, clock, blocking, log);
    servers_ptr = &servers;
    if (python_hooks->has(".post_stop_hook", cfg))
      servers.set_post_stop_hook(hub::post_stop_hook(*python_hooks->helper, cfg.python.spawner_sections,
                                                     python_hooks->users, log));
    servers.set_metrics(&metrics);
    metrics.watch(servers, queue, proxy.stats());
    auto roles = hub::Roles::load(cfg.load_roles_json, cfg.extra_user_scopes);
    if (!roles) return fail(roles.error().message, 2);
    auto services = hub::ServiceRegistry::load(cfg.services_json, cfg.base_url);
    if (!services) return fail(services.error().message, 2);
    if (auto r = services->generate_missing_tokens(random); !r) return fail(r.error().message, 2);
    if (auto r = hub::ensure_config_users(**st, cfg.auth.admin_users, cfg.auth.allowed_users); !r)
      return fail(r.error().message, 1);
    Snapshot<hub::Roles> live_roles(std::move(*roles));
    Snapshot<hub::ServiceRegistry> live_services(*services);
    web::RequestAuth request_auth(logins, tokens, **st, blocking, secret->reveal(), live_roles, live_services);
    // Services: OAuth clients for HubOAuth, routes under /services/, and who may sign in to
    // them (access:services, spec §3.3).
    if (auto r = services->register_oauth_clients(**st); !r) return fail(r.error().message, 1);
    if (auto r = services->add_routes(routes); !r) return fail(r.error().message, 2);
    // Services created through the API (JupyterHub 5.2) live in the store; the config's first.
    app::RuntimeServices runtime_services(live_services, **st, routes, clock, cfg.base_url, log);
    if (auto r = runtime_services.load_stored(); !r) return fail(r.error().message, 1);
    // A revoked share reaches servers at once: jupyterhub-singleuser trusts a token it has
    // checked for HubAuth.cache_max_age (300 s by default), so the proxy refuses the revoked
    // user's tokens a little longer than that.
    constexpr std::chrono::seconds kShareRevocationWindow{330};
    hub::ShareAccess share_access(
        **st, access_gate, clock, [&request_auth](store::UserRow const& u) { return request_auth.roles()->user_scopes(u); },
        [&servers](std::string const& owner, std::string const& server) { return servers.prefix_for(owner, server); },
        kShareRevocationWindow, log);
    oauth.set_access_check([&request_auth, live_hub, &store = **st](store::UserRow const& u, store::OAuthClientRow const& c) {
      auto const services_now = request_auth.services();
      if (auto const* svc = services_now->by_oauth_client(c.client_id))
        return hub::has_scope(request_auth.roles()->user_scopes(u), "access:services", hub::ScopeTarget{.service = svc->name});
      // Another user's server: a share (read now, so a revoked one no longer signs anyone in)
      // or a role granting its access scope. Admins keep JupyterHub 3.0's admin_access rule.
      if (c.user_id && c.server_name) {
        if (auto owner = store.get_user_by_id(*c.user_id)) {
          hub::ScopeTarget const target{.user = owner->name, .server = *c.server_name};
          if (hub::has_scope(hub::with_shared_scopes({}, u, store), "access:servers", target)) return true;
          if (!u.admin && hub::has_scope(request_auth.roles()->user_scopes(u), "access:servers", target)) return true;
        }
      }
      return u.admin && live_hub.load()->admin_access;
    });

    // The identity provider's tokens for users' code, and its JWTs at the API (docs/tokens.md).
    // Without enable_auth_state no tokens are kept, so the endpoint says so (404), not "sign in".
    hub::TokenRefresher refresher(flow.provider_snapshot(), idp_http, **st,
                                  cfg.auth.enable_auth_state && crypt->enabled() ? &*crypt : nullptr, clock,
                                  blocking, log, {.margin = cfg.auth.refresh_margin, .replica_id = replica_id});
    hook_refresher = &refresher;
    hub::BearerAuth bearer(flow.provider_snapshot(),
                           SnapshotRef<std::map<std::string, std::string>>(live_auth, &config::AuthConfig::username_map),
                           jwks, clock, log);
    request_auth.set_bearer(&bearer);  // it checks whether any provider (after a reload) takes bearer tokens
    if (cfg.auth.refresh_pre_spawn || !cfg.auth.access_token_env.empty() || !cfg.auth.id_token_env.empty())
      servers.set_pre_spawn_hook([&](store::UserRow const& u) {
        return refresher.spawn_environment(u.name, cfg.auth.refresh_pre_spawn, cfg.auth.access_token_env,
                                           cfg.auth.id_token_env);
      });

    // JupyterHub.default_url and named_server_limit_per_user given as functions of the handler.
    web::HandlerHooks handler_hooks;
    if (python_hooks->helper) {
      handler_hooks = {.call = hub::handler_hook(*python_hooks->helper, python_hooks->users, log),
                       .default_url = python_hooks->has_exactly("JupyterHub.default_url", cfg),
                       .named_server_limit = python_hooks->has_exactly("JupyterHub.named_server_limit_per_user", cfg)};
    }
    web::ServerRouteDeps sdeps{live_hub, request_auth, oauth, servers, **st, blocking, log, cfg.jupyterhub_version};
    sdeps.handler_hooks = &handler_hooks;
    sdeps.refresher = &refresher;
    sdeps.random = &random;
    sdeps.clock = &clock;
    sdeps.share_access = &share_access;
    web::add_token_routes(router, {cfg.base_url, request_auth, refresher, log, cfg.jupyterhub_version});
    web::add_server_routes(router, sdeps);
    // Managed services: started once the hub API they call answers (below), and made those of
    // the new `services` after a reload.
    hub::ServiceSupervisor supervisor(supervisor_options(cfg, hub_bind->ip, hub_listener->port(), url_base), runner,
                                      blocking, ioc.get_executor(), &metrics, log);
    auto log_exception = [&log](char const* what) {
      return [&log, what](std::exception_ptr e) {
        if (!e) return;
        try { std::rethrow_exception(e); } catch (std::exception const& ex) { log.error("{}: {}", what, ex.what()); }
      };
    };
    // With replicas, the managed services run on one replica at a time: the holder of the
    // lease "job managed-services" (docs/replicas.md). With SQLite this process runs them.
    hub::JobLease services_job("managed-services", **st, replica_id, clock, blocking, log);
    auto services_changed = [&ioc, &supervisor, &services_job, shared_store, log_exception,
                             also = std::move(source.on_services_changed)](
                                std::shared_ptr<const hub::ServiceRegistry> next) {
      if (!shared_store || services_job.held())
        net::co_spawn(ioc, supervisor.apply(next->all()), log_exception("managed services"));
      if (also) also(std::move(next));
    };
    ConfigReloader reloader(live, std::move(source.load),
                            {.flow = flow, .passwords = passwords, .bearer = bearer, .idp_http = idp_http, .http = http,
                             .store = **st, .routes = routes, .roles = live_roles, .services = live_services,
                             .random = random, .pool = blocking, .log = log,
                             .on_services_changed = std::move(services_changed)});
    // The spawner, the spawn queue and the poll loop follow reloads (app/spawner_reload.hpp).
    reloader.add_part(spawner_reload_part({.local = docker || kubernetes ? nullptr : &local_spawner,
                                           .docker = docker_spawner.get(), .kube = kube_spawner.get(),
                                           .queue = queue, .poll_seconds = poll_seconds,
                                           .profiles = &profile_spawner}));
    // log_level and access_log: spdlog's levels are atomics.
    reloader.add_part([&logs](config::HubConfig const& next) -> Result<PartChange> {
      return PartChange{.apply = [&logs, level = next.log_level, access = next.access_log] {
        set_log_levels(logs, level, access);
      }};
    });
    web::add_api_routes(router, {.cfg = live_hub, .auth = request_auth, .servers = servers, .tokens = tokens, .store = **st,
                                 .pool = blocking, .routes = routes, .log = log, .jupyterhub_version = cfg.jupyterhub_version,
                                 .shutdown = [] { ::kill(::getpid(), SIGTERM); }, .refresher = &refresher,
                                 .describe_config = [&reloader] { return reloader.describe(); },
                                 .reload_config = [&reloader](std::string why) { return reloader.reload(std::move(why)); },
                                 .service_pid = [&supervisor](std::string const& name) { return supervisor.pid_of(name); },
                                 .random = &random, .clock = &clock,
                                 .add_service = [&runtime_services](boost::json::object spec, hub::Service svc) {
                                   return runtime_services.add(std::move(spec), std::move(svc));
                                 },
                                 .remove_service = [&runtime_services](std::string name) { return runtime_services.remove(name); },
                                 .share_access = &share_access, .handler_hooks = &handler_hooks});
    web::add_server_pages(router, sdeps);
    web::add_share_pages(router, sdeps);
    web::WebDeps web_deps{live_hub, flow, logins, log, passwords, &handler_hooks};
    // With replicas, a replica cut off from PostgreSQL answers 503 here, so that the load
    // balancer (or the chart's readiness probe) sends users to the replicas that can write.
    if (shared_store)
      web_deps.health_problem = [&store = **st, &blocking]() -> net::awaitable<std::string> {
        auto ask = [&store] { return store.schema_version(); };
        auto r = co_await hub::run_blocking(blocking, std::move(ask));
        co_return r ? std::string() : "the database is out of reach: " + r.error().message;
      };
    web::add_hub_routes(router, std::move(web_deps));
    web::add_logo_route(router, cfg.base_url, std::move(*logo));
    web::add_cors(router, live_hub, web::route_prefix(cfg.base_url));
    web::add_metrics_routes(router, {.route_base = web::route_prefix(cfg.base_url),
                                     .authenticate = cfg.authenticate_prometheus, .auth = request_auth,
                                     .metrics = metrics, .store = **st, .pool = blocking, .clock = clock, .log = log});

    // Routes everywhere (docs/replicas.md): with PostgreSQL, other replicas' servers get routes
    // here too, kept up to date by LISTEN/NOTIFY and a full resync after every reconnection and
    // on every poll round. With SQLite there is one process and nothing to follow.
    std::unique_ptr<hub::RouteSync> route_sync;
    std::unique_ptr<store::PgListener> pg_listener;
    if (auto parsed = store::StoreUrl::parse(cfg.db_url); parsed && parsed->kind == store::StoreUrl::Kind::postgresql) {
      route_sync = std::make_unique<hub::RouteSync>(**st, routes, servers, blocking, ioc.get_executor(), log);
      auto started_listener = store::PgListener::start(
          {.url = parsed->postgres_url, .channels = {std::string(hub::kServersChannel)}},
          [&replica_id, sync = route_sync.get()](std::string_view, std::string_view from) {
            if (from != replica_id) sync->request();  // our own changes are in our table already
          },
          [sync = route_sync.get(), &log, listens = std::make_shared<std::atomic<int>>(0)] {
            // Every (re)connection: notifications sent while away are lost, so resync in full.
            if (listens->fetch_add(1) > 0) log.info("replica notifications: listening again; full route resync");
            sync->request();
          },
          [&log](std::string_view trouble) { log.warn("replica notifications: {}", trouble); });
      if (!started_listener) return fail(started_listener.error().message, 1);
      pg_listener = std::move(*started_listener);
    }

    // With replicas, polling (and taking over servers whose driver died) and culling are done
    // by one replica at a time; with SQLite this process is the only one and always does them.
    hub::JobLease poll_job("server-poll", **st, replica_id, clock, blocking, log);
    hub::JobLease cull_job("cull", **st, replica_id, clock, blocking, log);
    std::function<bool()> may_cull;
    if (shared_store) {
      net::co_spawn(ioc, poll_job.keep(), log_exception("server poll lease"));
      net::co_spawn(ioc, cull_job.keep(), log_exception("cull lease"));
      servers.set_poll_job([&poll_job] { return poll_job.held(); });
      may_cull = [&cull_job] { return cull_job.held(); };
      // The poll job's holder also owns what the spawner's watch finds (the Kubernetes pod
      // watch): pods without a record, looked for when it takes the job, and exits (below).
      net::co_spawn(ioc, hub::follow_lease(poll_job, std::chrono::milliseconds(500),
                                           [&servers]() { return servers.adopt_found(); },
                                           []() -> net::awaitable<void> { co_return; }),
                    log_exception("unrecorded servers"));
    }
    // Servers that survived a restart (clean or kill -9) get their routes back before the
    // listeners open.
    auto const adopt_t0 = std::chrono::steady_clock::now();
    net::co_spawn(ioc, servers.adopt_all(), net::use_future).get();
    metrics.spawners_initialised(std::chrono::steady_clock::now() - adopt_t0);
    // Readiness (docs/replicas.md): a replica opens its listeners, and so answers /hub/health
    // (the chart's readiness probe), only once it routes every other replica's servers. A
    // replica joining a running hub would otherwise answer 404 for them until its first
    // notification or poll round.
    if (route_sync) {
      net::co_spawn(ioc, route_sync->resync(), net::use_future).get();
      log.info("first route sync done: {} routes", routes.snapshot()->size());
    }
    // z2jh mode: the chart's configurable-http-proxy gets the same routes (app/chp_mirror.hpp).
    auto chp_mirror = start_chp_mirror(cfg, env, ioc.get_executor(), routes, http, log);
    // Each round reconciles servers with their routes: JupyterHub's check_routes_duration.
    auto timed_check = [&]() -> net::awaitable<void> {
      auto t0 = std::chrono::steady_clock::now();
      co_await servers.check_all();
      if (route_sync) {
        co_await route_sync->resync();  // in case a notification was lost
        co_await route_sync->flush_activity();
      }
      metrics.check_routes_finished(std::chrono::steady_clock::now() - t0);
    };
    net::co_spawn(ioc, periodically([&poll_seconds] { return std::chrono::seconds(poll_seconds.load()); }, timed_check),
                  log_exception("server poll loop"));
    net::co_spawn(ioc, hub::measure_event_loop(metrics, log), log_exception("event loop probe"));
    // A spawner that sees a server die (a pod evicted, OOM-killed, deleted) asks for a poll
    // now; requests while one is queued are folded into it.
    std::atomic<bool> poll_queued{false};
    spawner.set_exit_listener([&] {
      // With replicas every replica watches (its own spawns wait on the watch), but only the
      // poll job's holder acts on an exit: the others' poll would do nothing.
      if (shared_store && !poll_job.held()) return;
      if (poll_queued.exchange(true)) return;
      net::co_spawn(ioc, [&]() -> net::awaitable<void> {
        poll_queued = false;
        co_await servers.check_all();
      }, log_exception("server poll on exit"));
    });
    // The periodic refresh round covers every user in the store: one replica runs it (the
    // holder of the lease "job token-refresh"); the others take over if it dies.
    hub::JobLease refresh_job("token-refresh", **st, replica_id, clock, blocking, log);
    if (cfg.auth.enable_auth_state && cfg.auth.auth_refresh_age.count() > 0) {
      net::co_spawn(ioc, refresh_job.keep(), log_exception("token refresh lease"));
      net::co_spawn(ioc, hub::run_while_held(refresh_job, [every = cfg.auth.auth_refresh_age] { return every; },
                                             [&]() { return refresher.refresh_due(cfg.auth.auth_refresh_age); }),
                    log_exception("token refresh loop"));
    }
    net::co_spawn(ioc, servers.keep_leases(), log_exception("server leases"));
    net::co_spawn(ioc, cull_loop(live_hub, servers, may_cull), log_exception("idle culler"));

    reloader.watch_sighup(ioc.get_executor(), !cfg.ssl_cert.empty() ? std::function<void()>([&public_tls] {
      public_tls->check_files("SIGHUP");
    }) : std::function<void()>{});
    listener->start();
    hub_listener->start();
    // With ACME, start() runs a first round (the stored certificate, or a new one; TLS-ALPN-01 needs
    // the https port accepting) before the hub says it listens; until a pair is installed the https
    // port closes every handshake but the CA's acme-tls/1 one.
    if (public_tls) public_tls->start(cfg.ip, cfg.redirect_port, listener->port(), cfg.public_url, *logs.access);
    // Managed services, once the hub API they call answers (JupyterHub starts them there too).
    if (!shared_store) {
      net::co_spawn(ioc, supervisor.apply(live_services.load()->all()), net::use_future).get();
    } else {
      // Started when this replica takes the job, stopped when it loses it (cut off from the
      // database: before another replica's lease can start them there).
      net::co_spawn(ioc, services_job.keep(), log_exception("managed services lease"));
      net::co_spawn(ioc, hub::follow_lease(services_job, std::chrono::milliseconds(500),
                                           [&]() { return supervisor.apply(live_services.load()->all()); },
                                           [&]() {
                                             std::vector<hub::Service> none;  // a named value: GCC 12 and coroutines
                                             return supervisor.apply(std::move(none));
                                           }),
                    log_exception("managed services"));
    }
    metrics.hub_started(std::chrono::steady_clock::now() - startup_t0);
    auto shown_ip = cfg.ip.empty() ? std::string("127.0.0.1") : cfg.ip;
    // Always printed, whatever the log level: users and scripts wait for this line.
    auto where = fmt::format("nbhub is listening on {}://{}:{}{}", public_tls ? "https" : "http",
                             shown_ip.find(':') != std::string::npos ? "[" + shown_ip + "]" : shown_ip,
                             listener->port(), cfg.base_url);
    if (log.should_log(spdlog::level::info)) log.info("{}", where);
    else std::fprintf(stderr, "%s\n", where.c_str());
    log.info("hub API for servers at {}{}hub/api", connect_url, cfg.base_url);
    if (!cfg.public_url.empty()) log.info("public URL: {}", cfg.public_url);

    std::promise<int> stopped;
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      log.info("received signal {}, shutting down", sig);
      reloader.stop();
      listener->stop();
      hub_listener->stop();
      if (public_tls) public_tls->stop();
      stopped.set_value(0);
    });
    int code = stopped.get_future().get();
    net::co_spawn(ioc, supervisor.stop_all(), net::use_future).get();
    services_job.release_blocking();  // after the services are gone: never two at once
    refresh_job.release_blocking();  // the next replica takes the job at once
    poll_job.release_blocking();
    cull_job.release_blocking();
    // Give in-flight requests a moment to finish their current write.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    join();
    log.info("nbhub stopped");
    return code;
    } catch (std::exception const& e) {
      return fail(fmt::format("startup failed: {}", e.what()), 1);
    }
  } catch (std::exception const& e) {
    log.critical("startup failed: {}", e.what());
    return 1;
  }
}

}  // namespace nbhub::app
