#include "app/managed_services_setup.hpp"

#include <fmt/format.h>

namespace nbhub::app {

hub::SupervisorOptions supervisor_options(config::HubConfig const& cfg, std::string const& hub_bind_ip,
                                          std::uint16_t hub_port, std::string const& url_base) {
  auto const& m = cfg.managed_services;
  hub::SupervisorOptions o;
  o.restart_delay = m.restart_delay;
  o.restart_max_delay = m.restart_max_delay;
  o.stop_timeout = m.stop_timeout;
  o.log_dir = m.log_dir;
  bool const any = hub_bind_ip.empty() || hub_bind_ip == "0.0.0.0" || hub_bind_ip == "::";
  auto host = any ? std::string("127.0.0.1")
              : hub_bind_ip.find(':') != std::string::npos ? "[" + hub_bind_ip + "]"
                                                           : hub_bind_ip;
  o.env.api_url = fmt::format("http://{}:{}{}hub/api", host, hub_port, url_base);
  o.env.base_url = url_base;
  return o;
}

}  // namespace nbhub::app
