#include "app/config_reloader.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>

#include "app/provider_setup.hpp"
#include "auth/login_flow.hpp"
#include "auth/password_login.hpp"
#include "auth/provider.hpp"
#include "config/config_json.hpp"
#include "hub/bearer_auth.hpp"
#include "hub/blocking.hpp"
#include "hub/metered_http_client.hpp"
#include "hub/roles.hpp"
#include "hub/services.hpp"
#include "proxy/route_table.hpp"
#include "store/store.hpp"

namespace nbhub::app {

namespace net = boost::asio;
namespace json = boost::json;
using config::ReloadOutcome;

namespace {

bool contains(std::vector<std::string> const& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// An error about hub option `key`, placed where that option was set.
config::Diagnostic diagnostic_for(config::Provenance const& p, std::string const& key, std::string message) {
  config::Diagnostic d{.option = key, .message = std::move(message)};
  if (auto it = p.hub.find(key); it != p.hub.end()) {
    d.file = it->second.file;
    d.line = it->second.line;
    d.option = it->second.option;
  }
  return d;
}

config::Diagnostic provider_diagnostic(config::Provenance const& p, std::size_t index, std::string message) {
  config::Diagnostic d{.option = fmt::format("auth.providers[{}]", index), .message = std::move(message)};
  if (index < p.providers.size()) {
    d.file = p.providers[index].declared.file;
    d.line = p.providers[index].declared.line;
  }
  return d;
}

ReloadOutcome refused(std::vector<config::Diagnostic> errors, std::uint64_t generation) {
  ReloadOutcome o;
  o.status = ReloadOutcome::Status::refused;
  o.summary = "the new configuration was not applied; the running one stays";
  o.errors = std::move(errors);
  o.generation = generation;
  return o;
}

// The config-managed users (spec §4.5a, JupyterHub's init_users): every name in admin_users
// and allowed_users exists and admin_users are admins; a name the previous configuration made
// admin and this one no longer lists loses admin. Admin flags set through the API for users
// never in admin_users are left alone. Blocking.
Result<std::vector<std::string>> sync_users(store::Store& store, config::AuthConfig const& before,
                                            config::AuthConfig const& after) {
  if (auto r = hub::ensure_config_users(store, after.admin_users, after.allowed_users); !r) return r.error();
  std::vector<std::string> demoted;
  for (auto const& name : before.admin_users) {
    if (name.empty() || contains(after.admin_users, name)) continue;
    auto u = store.get_user(name);
    if (!u && u.error().code == Errc::not_found) continue;
    if (!u) return u.error();
    if (!u->admin) continue;
    if (auto r = store.set_admin(name, false); !r) return r.error();
    demoted.push_back(name);
  }
  return demoted;
}

// Services: OAuth clients and /services/ routes follow the new registry; those of services
// that are gone are removed (their tokens stopped working with the registry swap). Blocking.
Result<void> sync_services(hub::ServiceRegistry const& before, hub::ServiceRegistry const& after,
                           store::Store& store, proxy::RouteTable& routes) {
  for (auto const& s : before.all()) {
    auto const* now = after.find(s.name);
    if (!s.url.empty() && (!now || now->url.empty() || now->prefix != s.prefix))
      routes.remove(proxy::route_key_for_url_path(s.prefix));
    bool client_kept = now && !now->url.empty() && !now->token_sha256.empty() &&
                       now->oauth_client_id == s.oauth_client_id;
    if (!s.url.empty() && !s.token_sha256.empty() && !client_kept)
      if (auto r = store.delete_oauth_client(s.oauth_client_id); !r) return r.error();
  }
  if (auto r = after.register_oauth_clients(store); !r) return r;
  return after.add_routes(routes);
}

}  // namespace

struct ConfigReloader::Sighup {
  explicit Sighup(net::any_io_executor ex) : signals(ex, SIGHUP) {}
  net::signal_set signals;
};

ConfigReloader::ConfigReloader(Snapshot<LiveConfig>& live, Loader load, ReloadParts parts)
    : live_(live), load_(std::move(load)), parts_(std::move(parts)) {}

ConfigReloader::~ConfigReloader() { stop(); }

void ConfigReloader::watch_sighup(net::any_io_executor ex, std::function<void()> first) {
  sighup_ = std::make_unique<Sighup>(ex);
  on_sighup_first_ = std::move(first);
  struct Waiter {
    ConfigReloader* self;
    void operator()(boost::system::error_code ec, int) const {
      if (ec) return;  // stop(): cancelled
      auto* s = self;
      s->parts_.log.info("SIGHUP: reading the {}configuration again",
                         s->on_sighup_first_ ? "TLS certificate files and the " : "");
      if (s->on_sighup_first_) s->on_sighup_first_();
      net::co_spawn(s->sighup_->signals.get_executor(), s->reload("SIGHUP"),
                    [s](std::exception_ptr e, ReloadOutcome const&) {
                      if (!e) return;
                      try { std::rethrow_exception(e); } catch (std::exception const& ex) {
                        s->parts_.log.error("config reload (SIGHUP) failed: {}", ex.what());
                      }
                    });
      s->sighup_->signals.async_wait(Waiter{s});
    }
  };
  sighup_->signals.async_wait(Waiter{this});
}

void ConfigReloader::stop() {
  if (!sighup_) return;
  boost::system::error_code ec;
  sighup_->signals.cancel(ec);  // nothing to do on failure: the process is ending
}

net::awaitable<ReloadOutcome> ConfigReloader::reload(std::string trigger) {
  auto& log = parts_.log;
  auto const current = live_.load();
  if (busy_.exchange(true)) {
    log.warn("config reload ({}): another reload is running; ignored", trigger);
    ReloadOutcome o;
    o.status = ReloadOutcome::Status::busy;
    o.summary = "another reload is running; try again when it has finished";
    o.generation = current->generation;
    co_return o;
  }
  struct Release {
    std::atomic<bool>& b;
    ~Release() { b = false; }
  } release{busy_};

  if (!load_) {
    log.error("config reload ({}): this hub was started without a way to read its configuration again", trigger);
    co_return refused({config::Diagnostic{.message = "this hub cannot read its configuration again"}},
                      current->generation);
  }
  log.debug("config reload ({}): reading {}", trigger,
           current->config_file.empty() ? "the environment and flags" : current->config_file);
  auto load = load_;
  auto loaded = co_await hub::run_blocking(parts_.pool, std::move(load));
  std::vector<config::Diagnostic> warnings, errors;
  for (auto& d : loaded.diagnostics) (d.error ? errors : warnings).push_back(std::move(d));
  if (!errors.empty()) {
    for (auto const& d : errors) log.error("config reload ({}): {}", trigger, d.to_string());
    log.error("config reload ({}): the configuration has {} error{}; the running one stays", trigger,
              errors.size(), errors.size() == 1 ? "" : "s");
    auto out = refused(std::move(errors), current->generation);
    out.warnings = std::move(warnings);
    co_return out;
  }
  for (auto const& d : warnings) log.warn("config reload ({}): {}", trigger, d.to_string());

  auto plan = config::plan_reload(current->hub, current->provenance, loaded.hub, loaded.provenance);
  auto const& next = plan.next;

  // Build and check every new part before anything is swapped.
  std::shared_ptr<const hub::Roles> roles;
  if (contains(plan.live, "load_roles") || contains(plan.live, "extra_user_scopes")) {
    auto r = hub::Roles::load(next.load_roles_json, next.extra_user_scopes);
    if (!r) errors.push_back(diagnostic_for(plan.next_provenance, "load_roles", r.error().message));
    else roles = std::make_shared<const hub::Roles>(std::move(*r));
  }
  std::shared_ptr<const hub::ServiceRegistry> services;
  if (contains(plan.live, "services")) {
    auto r = hub::ServiceRegistry::load(next.services_json, next.base_url);
    // A managed service without api_token keeps the token generated for it before, so the
    // reload does not restart it for nothing.
    if (r) {
      if (auto t = r->generate_missing_tokens(parts_.random, parts_.services.load().get()); !t) r = t.error();
    }
    // Services created through the API are not the config's to drop (app/runtime_services.hpp).
    if (r) {
      if (auto merged = r->with(parts_.services.load()->runtime()); merged) r = std::move(*merged);
      else r = Error{Errc::config, merged.error().message + " (a service created through the API has it)"};
    }
    if (!r) errors.push_back(diagnostic_for(plan.next_provenance, "services", r.error().message));
    else services = std::make_shared<const hub::ServiceRegistry>(std::move(*r));
  }
  bool const providers_changed = !plan.providers.empty() || contains(plan.live, "auth.providers (order)");
  auth::LoginFlow::Providers oauth, forms;
  std::vector<config::ProviderConfig> resolved_all;
  if (providers_changed) {
    // Unchanged providers keep their resolved form (no new discovery); new and changed ones
    // are resolved again.
    auto const old_oauth = parts_.flow.providers();
    auto const old_forms = parts_.passwords.providers();
    auto resolved_before = [&](std::string const& name) -> config::ProviderConfig const* {
      for (auto const* set : {old_oauth.get(), old_forms.get()})
        for (auto const& p : *set)
          if (p.name == name) return &p;
      return nullptr;
    };
    for (std::size_t i = 0; i < next.auth.providers.size(); ++i) {
      auto const& raw = next.auth.providers[i];
      bool touched = std::any_of(plan.providers.begin(), plan.providers.end(),
                                 [&](config::ProviderChange const& c) { return c.name == raw.name; });
      config::ProviderConfig p;
      if (auto const* was = resolved_before(raw.name); was && !touched) {
        p = *was;
      } else {
        auto r = co_await resolve_provider(raw, parts_.http, log);
        if (!r) {
          errors.push_back(provider_diagnostic(plan.next_provenance, i,
                                               fmt::format("provider {}: {}", raw.name, r.error().message)));
          continue;
        }
        p = std::move(*r);
      }
      resolved_all.push_back(p);
      auto const how = auth::sign_in_of(p);
      if (how == auth::SignIn::redirect) oauth.push_back(std::move(p));
      else if (how == auth::SignIn::password_form) forms.push_back(std::move(p));
    }
  }
  std::vector<std::function<void()>> swaps;
  for (auto const& part : more_) {
    auto change = part(next);
    if (!change) {
      errors.push_back(config::Diagnostic{.message = change.error().message});
      continue;
    }
    if (change->apply && plan.changed()) swaps.push_back(std::move(change->apply));
    for (auto& k : change->restart)
      if (!contains(plan.restart, k)) plan.restart.push_back(std::move(k));
  }
  if (!errors.empty()) {
    for (auto const& d : errors) log.error("config reload ({}): {}", trigger, d.to_string());
    log.error("config reload ({}): the new configuration cannot be applied; the running one stays", trigger);
    co_return refused(std::move(errors), current->generation);
  }

  // Apply: the store first (the one step that can still fail), then the swaps.
  auto before_auth = current->hub.auth;
  auto after_auth = next.auth;
  auto sync = [&store = parts_.store, before_auth, after_auth]() { return sync_users(store, before_auth, after_auth); };
  auto demoted = co_await hub::run_blocking(parts_.pool, std::move(sync));
  if (!demoted) {
    log.error("config reload ({}): updating the configured users failed: {}; the running configuration stays",
              trigger, demoted.error().message);
    co_return refused({config::Diagnostic{.option = "auth.admin_users", .message = demoted.error().message}},
                      current->generation);
  }
  for (auto const& name : *demoted)
    log.info("config reload ({}): '{}' is no longer in auth.admin_users: admin removed", trigger, name);
  if (services) {
    auto const old_services = parts_.services.load();
    auto work = [&store = parts_.store, &routes = parts_.routes, old_services, services]() {
      return sync_services(*old_services, *services, store, routes);
    };
    if (auto r = co_await hub::run_blocking(parts_.pool, std::move(work)); !r) {
      log.error("config reload ({}): services: {}; the running configuration stays", trigger, r.error().message);
      co_return refused({diagnostic_for(plan.next_provenance, "services", r.error().message)}, current->generation);
    }
    parts_.services.store(services);
  }
  if (roles) parts_.roles.store(roles);
  if (providers_changed) {
    for (auto const& p : resolved_all) parts_.idp_http.add_provider(p);
    parts_.flow.set_providers(std::move(oauth));
    parts_.passwords.set_providers(std::move(forms));
  }
  for (auto const& swap : swaps) swap();
  auto const generation = current->generation + (plan.changed() ? 1 : 0);
  live_.store(LiveConfig{plan.next, plan.next_provenance, loaded.config_file, generation});
  // Policies changed under tokens already checked (username_map, providers): check them again.
  if (providers_changed || contains(plan.live, "auth.username_map")) parts_.bearer.forget_cached();
  pending_restart_.store(plan.restart);
  if (services && parts_.on_services_changed) parts_.on_services_changed(services);

  ReloadOutcome out;
  out.status = plan.changed() ? ReloadOutcome::Status::applied : ReloadOutcome::Status::unchanged;
  out.summary = config::summary(plan);
  out.restart = plan.restart;
  out.warnings = std::move(warnings);
  out.generation = generation;
  log.info("config reload ({}): {}", trigger, out.summary);
  if (auto w = config::restart_warning(plan); !w.empty()) log.warn("config reload ({}): {}", trigger, w);
  co_return out;
}

json::object ConfigReloader::describe() const {
  auto const live = live_.load();
  auto out = config::config_to_json(live->hub, live->provenance);
  out["config_file"] = live->config_file;
  out["generation"] = live->generation;
  json::array pending;
  for (auto const& k : *pending_restart_.load()) pending.emplace_back(k);
  out["restart_required"] = std::move(pending);
  return out;
}

}  // namespace nbhub::app
