#pragma once
// Services created through the REST API (JupyterHub 5.2; web/api_services.cpp): kept in the
// store and merged into the live service registry at start-up and on every change, so their
// tokens, OAuth clients and routes work as those of configured services. A config reload keeps
// them (config_reloader.cpp merges ServiceRegistry::runtime()).
//
// One process: another replica on the same database sees a service created here after its
// next restart (docs/sharing.md says so).
#include <boost/json/object.hpp>

#include <mutex>
#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/snapshot.hpp"
#include "hub/services.hpp"

namespace spdlog { class logger; }
namespace nbhub::store { class Store; }
namespace nbhub::proxy { class RouteTable; }

namespace nbhub::app {

class RuntimeServices {
 public:
  // All references must outlive this object.
  RuntimeServices(Snapshot<hub::ServiceRegistry>& live, store::Store& store, proxy::RouteTable& routes,
                  Clock const& clock, std::string base_url, spdlog::logger& log);

  // Start-up, blocking, after the config's services are live: adds the stored ones. A stored
  // service that no longer fits (its name or token now taken by the config) is skipped with a
  // warning, never fatal: the config wins.
  Result<void> load_stored();
  // Blocking. conflict when the name, client id or token is taken; the store's errors.
  Result<void> add(boost::json::object spec, hub::Service service);
  // Blocking. not_found for an unknown runtime service.
  Result<void> remove(std::string const& name);

 private:
  std::mutex mu_;  // one change at a time: each publishes a registry built from the last
  Snapshot<hub::ServiceRegistry>& live_;
  store::Store& store_;
  proxy::RouteTable& routes_;
  Clock const& clock_;
  std::string base_url_;
  spdlog::logger& log_;
};

}  // namespace nbhub::app
