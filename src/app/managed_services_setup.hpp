#pragma once
// The managed-service supervisor's options from the hub's configuration.
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "hub/service_supervisor.hpp"

namespace nbhub::app {

// Services are local processes: they reach the hub API on its bind address, or on
// 127.0.0.1 when it listens on all interfaces (as JupyterHub's Service.start), at the port the
// hub API listener really has.
hub::SupervisorOptions supervisor_options(config::HubConfig const& cfg, std::string const& hub_bind_ip,
                                          std::uint16_t hub_port, std::string const& url_base);

}  // namespace nbhub::app
