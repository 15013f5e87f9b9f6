#include "app/token_command.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <iterator>
#include <thread>

#include "auth/provider.hpp"
#include "auth/refresh.hpp"
#include "core/clock.hpp"
#include "http/client_impl.hpp"
#include "hub/bearer_auth.hpp"
#include "jwt/jwks_cache.hpp"

namespace nbhub::app {

namespace net = boost::asio;

namespace {

int usage(std::string const& why) {
  std::cerr << "nbhub token: " << why << "\n"
            << "usage: nbhub [-f nbhub.toml] token client-credentials --provider NAME [--scope SCOPE]\n"
            << "       nbhub [-f nbhub.toml] token verify TOKEN|-\n";
  return 2;
}

// Runs one coroutine on `ioc` (whose threads are running) and waits for its value.
template <class T>
T wait(net::io_context& ioc, net::awaitable<T> aw) {
  return net::co_spawn(ioc, std::move(aw), net::use_future).get();
}

}  // namespace

int run_token_command(config::HubConfig const& cfg, std::vector<std::string> const& args) {
  if (args.empty()) return usage("say client-credentials or verify");
  auto log = std::make_shared<spdlog::logger>("nbhub", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  log->set_level(spdlog::level::warn);
  net::io_context ioc;
  auto work = net::make_work_guard(ioc);
  std::thread runner([&] { ioc.run(); });
  struct Join {
    net::executor_work_guard<net::io_context::executor_type>& w;
    std::thread& t;
    ~Join() { w.reset(); t.join(); }
  } join{work, runner};

  SystemClock clock;
  http::BeastHttpClient http(ioc, cfg.http_client, *log);
  std::vector<config::ProviderConfig> providers;
  for (auto const& raw : cfg.auth.providers) {
    auto p = auth::apply_preset(raw);
    if (!p) { std::cerr << "nbhub token: " << p.error().message << "\n"; return 2; }
    if (!p->issuer.empty() && (p->token_url.empty() || p->jwks_url.empty())) {
      auto d = wait(ioc, auth::discover(*p, http));
      if (!d) { std::cerr << "nbhub token: provider " << p->name << ": " << d.error().message << "\n"; return 1; }
    }
    providers.push_back(std::move(*p));
  }

  if (args[0] == "client-credentials") {
    std::string provider, scope;
    for (std::size_t i = 1; i < args.size(); ++i) {
      auto const& a = args[i];
      auto value = [&]() -> std::optional<std::string> { return i + 1 < args.size() ? std::optional(args[++i]) : std::nullopt; };
      if (a == "--provider") { auto v = value(); if (!v) return usage("--provider needs a name"); provider = *v; }
      else if (a == "--scope") { auto v = value(); if (!v) return usage("--scope needs a value"); scope = *v; }
      else return usage("unknown argument '" + a + "'");
    }
    config::ProviderConfig const* p = nullptr;
    for (auto const& c : providers)
      if (c.name == provider || (provider.empty() && providers.size() == 1)) p = &c;
    if (!p) return usage(provider.empty() ? "--provider is required when several providers are configured"
                                          : "no provider called '" + provider + "' in the configuration");
    auto r = wait(ioc, auth::client_credentials_grant(*p, http, scope, *log));
    if (!r) { std::cerr << "nbhub token: " << r.error().message << "\n"; return 1; }
    std::cout << auth::json_string(*r, "access_token") << "\n";
    return 0;
  }

  if (args[0] == "verify") {
    if (args.size() != 2) return usage("verify takes one token (or - for standard input)");
    std::string token = args[1];
    if (token == "-") {
      token.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    }
    if (auto payload = auth::unverified_payload(token))
      std::cout << "claims (as sent, before verification): " << boost::json::serialize(*payload) << "\n";
    else
      std::cout << "claims: none readable (not a JWT)\n";
    bool any_bearer = false;
    for (auto const& p : providers) any_bearer |= p.bearer_tokens;
    if (!any_bearer)
      std::cout << "note: no provider has bearer_tokens = true, so nbhub's REST API accepts no bearer JWT\n";
    jwt::JwksCache jwks(http, clock, {.unknown_kid_refetch_interval = cfg.auth.jwks_refetch_interval, .log = log});
    std::map<std::string, std::string> username_map = cfg.auth.username_map;
    hub::BearerAuth bearer(providers, username_map, jwks, clock, *log);
    auto r = wait(ioc, bearer.authenticate(token));
    if (!r) {
      std::cout << "verdict: refused: " << r.error().message << "\n";
      return 1;
    }
    std::cout << "verdict: valid until " << r->expires_at << " (unix); provider " << r->provider << "; "
              << (r->service ? "service " + *r->service : "user " + r->user.value_or("?"));
    if (!r->scopes.empty()) {
      std::cout << "; mapped scopes:";
      for (auto const& s : r->scopes) std::cout << " " << s;
    }
    std::cout << "\n";
    return 0;
  }
  return usage("unknown action '" + args[0] + "'");
}

}  // namespace nbhub::app
