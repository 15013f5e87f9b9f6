#pragma once
// z2jh mode's external proxy: when proxy.chp_api_url is set, nbhub's route table is mirrored to
// that configurable-http-proxy (proxy/chp_client.hpp) with the token from the process's
// CONFIGPROXY_AUTH_TOKEN, as JupyterHub's ConfigurableHTTPProxy with should_start = False.
#include <map>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <spdlog/logger.h>

#include "config/config.hpp"
#include "http/client.hpp"
#include "proxy/chp_client.hpp"
#include "proxy/route_table.hpp"

namespace nbhub::app {

// Started at once (a first reconcile, then every proxy.chp_check_interval_seconds); nullptr when
// no external proxy is configured. Call it after the routes of adopted servers are in `routes`,
// so the first reconcile does not delete their CHP routes.
std::unique_ptr<proxy::ChpClient> start_chp_mirror(config::HubConfig const& cfg,
                                                   std::map<std::string, std::string> const& env,
                                                   boost::asio::any_io_executor ex,
                                                   proxy::RouteTable& routes,
                                                   http::HttpClient& http, spdlog::logger& log);

}  // namespace nbhub::app
