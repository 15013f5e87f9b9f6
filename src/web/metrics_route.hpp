#pragma once
// GET <base_url>hub/metrics (and hub/api/metrics, as JupyterHub 5): the Prometheus text
// format of hub/hub_metrics.hpp. With authenticate_prometheus (the default) the caller needs
// the `read:metrics` scope, by API token or login cookie (JupyterHub's
// metrics_authentication: 403 "Access to metrics requires scope 'read:metrics'" otherwise);
// without it the metrics are open to anyone who reaches the port.
#include <boost/asio/thread_pool.hpp>

#include "core/clock.hpp"
#include "http/listener.hpp"
#include "http/router.hpp"

namespace spdlog { class logger; }
namespace nbhub::hub { class HubMetrics; }
namespace nbhub::store { class Store; }

namespace nbhub::web {

class RequestAuth;

struct MetricsRouteDeps {
  std::string route_base;  // the router's (decoded) base_url: "/" or "/x y/"
  bool authenticate = true;  // authenticate_prometheus
  RequestAuth& auth;
  hub::HubMetrics& metrics;
  store::Store& store;
  boost::asio::thread_pool& pool;
  Clock const& clock;
  spdlog::logger& log;
};

void add_metrics_routes(http::Router& router, MetricsRouteDeps deps);

// The listeners' observer: request_duration_seconds and the login/logout timings.
http::RequestObserver request_observer(hub::HubMetrics& metrics);

}  // namespace nbhub::web
