#include "web/metrics_route.hpp"

#include <spdlog/spdlog.h>

#include <memory>

#include "hub/blocking.hpp"
#include "hub/hub_metrics.hpp"
#include "hub/scopes.hpp"
#include "metrics/registry.hpp"
#include "web/request_auth.hpp"

namespace nbhub::web {

namespace net = boost::asio;
using http::Context;
using http::Response;

void add_metrics_routes(http::Router& router, MetricsRouteDeps deps) {
  auto d = std::make_shared<MetricsRouteDeps const>(std::move(deps));
  auto handler = [d](Context& ctx) -> net::awaitable<Response> {
    if (d->authenticate) {
      auto caller = co_await d->auth.resolve(ctx);
      if (!caller || !hub::has_scope(caller->scope_set, "read:metrics"))
        co_return http::json_error(403, "Access to metrics requires scope 'read:metrics'");
    }
    // total_users and active_users: one COUNT query per scrape, on the blocking pool.
    auto now = d->clock.now();
    // Named, not a temporary inside the co_await: GCC 12 destroys such temporaries twice
    // (here: one shared_ptr release too many per scrape).
    auto work = [d, now] { return d->metrics.refresh_user_counts(d->store, now); };
    auto counted = co_await hub::run_blocking(d->pool, std::move(work));
    // The other values are still worth having: the user counts keep their last values.
    if (!counted) d->log.warn("metrics: counting users failed: {}", counted.error().message);
    auto res = http::text_response(200, d->metrics.expose(), metrics::Registry::kContentType);
    co_return res;
  };
  router.get(d->route_base + "hub/metrics", handler);
  router.get(d->route_base + "hub/api/metrics", handler);
}

http::RequestObserver request_observer(hub::HubMetrics& metrics) {
  return [&metrics](http::RequestRecord const& r) {
    // Beast names the verbs it knows; any other is one label, not the client's spelling.
    std::string_view method = "OTHER";
    if (r.method != http::bhttp::verb::unknown) method = http::bhttp::to_string(r.method);
    metrics.observe_request(method, r.route, r.status, r.took);
  };
}

}  // namespace nbhub::web
