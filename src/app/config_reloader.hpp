#pragma once
// Live configuration reload (issue 21; docs/operations.md "Reloading the configuration"): on
// SIGHUP or POST /hub/api/config/reload the configuration is read again from all its layers and
// checked completely. If it does not load, the running one stays and every error is logged (and
// returned to the API caller) with its file and line. If it loads, config::plan_reload() splits
// it into what is applied now and what waits for a restart (named in a warning), and the live
// parts get their new snapshots:
//
//   users: admin_users and allowed_users exist, admin_users are admins; a name dropped from
//     admin_users loses admin (config-managed, as JupyterHub's init_users); users, groups,
//     admin flags and roles made through the API are left alone;
//   roles (load_roles) and services (tokens, scopes, OAuth clients, /services/ routes);
//   identity providers: added, removed, changed (a new discovery for a changed issuer); a
//     sign-in begun with a removed provider fails at its callback with a clear message;
//   the allow/block/admin policy, login page, culling and the other keys of config::kLive.
//
// Nothing is swapped until everything new has been built and checked (roles parse, services
// parse, providers resolve), so a refused reload changes nothing. Requests in flight keep the
// snapshots they loaded; no connection or WebSocket is touched.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/load.hpp"
#include "config/provenance.hpp"
#include "config/reload_plan.hpp"
#include "core/random.hpp"
#include "core/result.hpp"
#include "core/snapshot.hpp"

namespace spdlog { class logger; }
namespace nbhub::auth { class LoginFlow; class PasswordLogin; }
namespace nbhub::http { class HttpClient; }
namespace nbhub::proxy { class RouteTable; }
namespace nbhub::store { class Store; }
namespace nbhub::hub { class BearerAuth; class MeteredHttpClient; class Roles; class ServiceRegistry; }

namespace nbhub::app {

// The configuration in effect and where its values came from.
struct LiveConfig {
  config::HubConfig hub;
  config::Provenance provenance;
  std::string config_file;       // "" when only defaults and the environment applied
  std::uint64_t generation = 0;  // 0 at start-up; +1 for each reload that changed something
};

// What a part (PartUpdate) will do with a new configuration.
struct PartChange {
  std::function<void()> apply;  // run once every part is ready; may be empty
  // Settings the new configuration changes that this part cannot change live: they keep
  // their running values and are named in the reload's warning (and in restart_required),
  // like the restart-only options ("KubeSpawner.namespace").
  std::vector<std::string> restart;
};

// A part that follows reloads without the reloader knowing it (the spawner, the spawn queue,
// the log levels): given the configuration about to apply, it checks what it needs and
// returns what it will do, or an error that refuses the reload. Called at every reload that
// loads, changed or not, so that its restart-only names stay listed until the restart.
using PartUpdate = std::function<Result<PartChange>(config::HubConfig const& next)>;

// What a reload applies to. References outlive the reloader.
struct ReloadParts {
  auth::LoginFlow& flow;
  auth::PasswordLogin& passwords;
  hub::BearerAuth& bearer;
  hub::MeteredHttpClient& idp_http;  // names the new providers' endpoints
  http::HttpClient& http;            // OIDC discovery for new and changed providers
  store::Store& store;
  proxy::RouteTable& routes;
  Snapshot<hub::Roles>& roles;
  Snapshot<hub::ServiceRegistry>& services;
  Random& random;  // tokens for managed services configured without one
  boost::asio::thread_pool& pool;
  spdlog::logger& log;
  // Seam for managed services (issue 21 point 3): called after a reload that changed
  // `services`, with the new registry (tokens and roles are already in effect). Starting and
  // stopping service processes belongs here; unset: nothing more to do.
  std::function<void(std::shared_ptr<const hub::ServiceRegistry>)> on_services_changed;
};

class ConfigReloader {
 public:
  // `load` reads the configuration again with the start-up's flags and environment
  // (config::load); it runs on the blocking pool.
  using Loader = std::function<config::Loaded()>;
  ConfigReloader(Snapshot<LiveConfig>& live, Loader load, ReloadParts parts);
  ~ConfigReloader();

  // One reload. Runs on any executor; reloads do not overlap (a second one while one runs
  // returns Status::busy). `trigger` names the cause in the log ("SIGHUP", "API by alice").
  boost::asio::awaitable<config::ReloadOutcome> reload(std::string trigger);

  // The hub's one SIGHUP handler, until stop(): each SIGHUP runs `first` (the TLS certificate
  // files are read again: app/public_tls.hpp; may be empty), then a reload. One handler, so
  // that one signal gives one account of what it did in the log.
  void watch_sighup(boost::asio::any_io_executor ex, std::function<void()> first = {});
  // Before the first reload.
  void add_part(PartUpdate part) { more_.push_back(std::move(part)); }
  void stop();

  // GET /hub/api/config: the configuration in effect, secrets redacted (config_json.hpp),
  // with the generation and the restart-only changes still pending.
  boost::json::object describe() const;

 private:
  struct Sighup;
  Snapshot<LiveConfig>& live_;
  Loader load_;
  ReloadParts parts_;
  std::vector<PartUpdate> more_;
  std::atomic<bool> busy_{false};
  std::unique_ptr<Sighup> sighup_;
  std::function<void()> on_sighup_first_;
  Snapshot<std::vector<std::string>> pending_restart_{std::vector<std::string>{}};
};

}  // namespace nbhub::app
