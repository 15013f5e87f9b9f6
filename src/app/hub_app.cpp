#include "app/hub_app.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <thread>

#include "app/logging.hpp"
#include "auth/login_flow.hpp"
#include "auth/provider.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "http/client_impl.hpp"
#include "http/listener.hpp"
#include "hub/cookie_secret.hpp"
#include "hub/login_service.hpp"
#include "jwt/jwks_cache.hpp"
#include "store/crypt_keeper.hpp"
#include "store/store.hpp"
#include "web/routes.hpp"

namespace nbhub::app {

namespace net = boost::asio;

namespace {

// Presets, then OIDC discovery where an issuer is known but endpoints are not. Runs before
// the listener starts, so a wrong issuer stops startup with a message instead of failing
// every login later.
Result<std::vector<config::ProviderConfig>> resolve_providers(config::HubConfig const& cfg,
                                                              net::io_context& ioc,
                                                              http::HttpClient& http,
                                                              spdlog::logger& log) {
  std::vector<config::ProviderConfig> out;
  for (auto const& raw : cfg.auth.providers) {
    auto p = auth::apply_preset(raw);
    if (!p) return p.error();
    if (!p->issuer.empty() && (p->authorize_url.empty() || p->token_url.empty() || p->jwks_url.empty())) {
      auto fut = net::co_spawn(ioc, auth::discover(*p, http), net::use_future);
      auto r = fut.get();
      if (!r) return r.error();
    }
    if (!p->tls_verify) log.warn("auth.providers[{}]: TLS verification is off for this provider", p->name);
    log.info("provider {} ({}): \"Sign in with {}\"", p->name, p->kind, p->login_service);
    out.push_back(std::move(*p));
  }
  return out;
}

}  // namespace

int run_hub(config::HubConfig const& cfg, std::map<std::string, std::string> const& env) {
  auto logs = make_loggers(cfg.log_level);
  auto& log = *logs.hub;
  try {
    SystemClock clock;
    OpenSslRandom random;
    auto threads = std::max(2u, std::thread::hardware_concurrency());
    net::io_context ioc(static_cast<int>(threads));
    net::thread_pool blocking(2);
    auto work = net::make_work_guard(ioc);
    std::vector<std::thread> io_threads;
    for (unsigned i = 0; i < threads; ++i) io_threads.emplace_back([&] { ioc.run(); });
    auto join = [&] {
      work.reset();
      ioc.stop();
      for (auto& t : io_threads) t.join();
      blocking.join();
    };

    auto fail = [&](std::string const& msg, int code) {
      log.critical("{}", msg);
      join();
      return code;
    };

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

    auto st = store::Store::open(cfg.db_url, clock);
    if (!st) return fail(st.error().message, 1);
    auto version = (*st)->migrate();
    if (!version) return fail(version.error().message, 1);
    log.info("database {} at schema version {}", cfg.db_url.substr(0, cfg.db_url.find('@') == std::string::npos ? std::string::npos : 0), *version);

    http::BeastHttpClient http(ioc, cfg.http_client, log);
    jwt::JwksCache jwks(http, clock, {.log = logs.hub});
    auto providers = resolve_providers(cfg, ioc, http, log);
    if (!providers) return fail(providers.error().message, 2);

    auth::LoginStateSealer sealer(*secret, clock, random, cfg.auth.login_state_ttl);
    auth::LoginFlow flow(std::move(*providers), cfg.auth, http, jwks, clock, random, sealer, log);
    hub::LoginService logins(cfg.auth, **st, crypt->enabled() ? &*crypt : nullptr, clock, random, blocking, log);

    http::Router router;
    web::add_hub_routes(router, {cfg, flow, logins, log});

    http::ListenerOptions lo{.limits = cfg.http, .trusted_proxies = cfg.trusted_proxies,
                             .public_https = cfg.public_url.starts_with("https://")};
    auto listener = std::make_shared<http::Listener>(ioc, router, lo, *logs.access, log);
    listener->bind(cfg.ip, cfg.port);
    listener->start();
    auto shown_ip = cfg.ip.empty() ? std::string("127.0.0.1") : cfg.ip;
    // Always printed, whatever the log level: users and scripts wait for this line.
    auto where = fmt::format("nbhub is listening on http://{}:{}{}",
                             shown_ip.find(':') != std::string::npos ? "[" + shown_ip + "]" : shown_ip,
                             listener->port(), cfg.base_url);
    if (log.should_log(spdlog::level::info)) log.info("{}", where);
    else std::fprintf(stderr, "%s\n", where.c_str());
    if (!cfg.public_url.empty()) log.info("public URL: {}", cfg.public_url);

    std::promise<int> stopped;
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      log.info("received signal {}, shutting down", sig);
      listener->stop();
      stopped.set_value(0);
    });
    int code = stopped.get_future().get();
    // Give in-flight requests a moment to finish their current write.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    join();
    log.info("nbhub stopped");
    return code;
  } catch (std::exception const& e) {
    log.critical("startup failed: {}", e.what());
    return 1;
  }
}

}  // namespace nbhub::app
