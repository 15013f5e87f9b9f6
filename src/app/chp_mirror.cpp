#include "app/chp_mirror.hpp"

#include <algorithm>

namespace nbhub::app {

std::unique_ptr<proxy::ChpClient> start_chp_mirror(config::HubConfig const& cfg,
                                                   std::map<std::string, std::string> const& env,
                                                   boost::asio::any_io_executor ex,
                                                   proxy::RouteTable& routes,
                                                   http::HttpClient& http, spdlog::logger& log) {
  if (cfg.proxy.chp_api_url.empty()) return nullptr;
  proxy::ChpClientConfig c;
  c.api_url = cfg.proxy.chp_api_url;
  if (auto it = env.find("CONFIGPROXY_AUTH_TOKEN"); it != env.end()) c.token = Secret(it->second);
  c.check_interval = std::max(cfg.proxy.chp_check_interval, std::chrono::seconds(1));
  auto client = std::make_unique<proxy::ChpClient>(ex, std::move(c), routes, http, log);
  client->start();
  log.info("proxy: mirroring routes to the configurable-http-proxy API at {} (every {} s)",
           cfg.proxy.chp_api_url, cfg.proxy.chp_check_interval.count());
  return client;
}

}  // namespace nbhub::app
