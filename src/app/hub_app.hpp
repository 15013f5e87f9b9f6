#pragma once
// The composition root (STYLE.md §5): builds every object in order from the frozen config,
// runs the io_context threads, and drains on SIGINT/SIGTERM.
#include <map>
#include <string>

#include <functional>
#include <memory>

#include "config/config.hpp"
#include "config/load.hpp"
#include "config/provenance.hpp"

namespace nbhub::hub { class ServiceRegistry; }

namespace nbhub::app {

// Returns the process exit code: 0 after a clean shutdown, 1 when startup failed (the reason
// is logged), 2 for configuration that is invalid in ways only startup can see.
// How to read the configuration again (SIGHUP, POST /hub/api/config/reload) and where the
// start-up values came from (GET /hub/api/config). Without `load` a reload is refused.
struct ReloadSource {
  config::Provenance provenance;
  std::string config_file;
  std::function<config::Loaded()> load;
  // Called after a reload changed `services` (managed services: issue 21 point 3).
  std::function<void(std::shared_ptr<const hub::ServiceRegistry>)> on_services_changed;
};

int run_hub(config::HubConfig const& cfg, std::map<std::string, std::string> const& env,
            ReloadSource source = {});

}  // namespace nbhub::app
