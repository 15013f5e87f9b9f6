#include "app/runtime_services.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "proxy/route_table.hpp"
#include "store/store.hpp"

namespace nbhub::app {

RuntimeServices::RuntimeServices(Snapshot<hub::ServiceRegistry>& live, store::Store& store, proxy::RouteTable& routes,
                                 Clock const& clock, std::string base_url, spdlog::logger& log)
    : live_(live), store_(store), routes_(routes), clock_(clock), base_url_(std::move(base_url)), log_(log) {}

Result<void> RuntimeServices::load_stored() {
  std::lock_guard lock(mu_);
  auto rows = store_.list_runtime_services();
  if (!rows) return rows.error();
  auto next = *live_.load();
  for (auto const& row : *rows) {
    auto s = hub::ServiceRegistry::runtime_service(row.spec, base_url_);
    if (!s) {
      log_.warn("runtime service {}: {}; skipped", row.name, s.error().message);
      continue;
    }
    auto merged = next.with({*s});
    if (!merged) {
      log_.warn("runtime service {}: {}; skipped (the config's services win)", row.name, merged.error().message);
      continue;
    }
    next = std::move(*merged);
  }
  if (auto r = next.register_oauth_clients(store_); !r) return r;
  if (auto r = next.add_routes(routes_); !r) return r;
  live_.store(std::move(next));
  return {};
}

Result<void> RuntimeServices::add(boost::json::object spec, hub::Service service) {
  std::lock_guard lock(mu_);
  auto next = live_.load()->with({service});
  if (!next) return next.error();
  auto name = service.name;
  if (auto r = store_.create_runtime_service({name, std::move(spec), clock_.now()}); !r) return r;
  if (auto r = next->register_oauth_clients(store_); !r) {
    (void)store_.delete_runtime_service(name);  // undo: the service never became live
    return r;
  }
  if (auto r = next->add_routes(routes_); !r) {
    (void)store_.delete_runtime_service(name);
    return r;
  }
  live_.store(std::move(*next));
  return {};
}

Result<void> RuntimeServices::remove(std::string const& name) {
  std::lock_guard lock(mu_);
  auto const now = live_.load();
  auto const* s = now->find(name);
  if (!s || s->from_config) return Error{Errc::not_found, fmt::format("Service {} does not exist", name)};
  if (auto r = store_.delete_runtime_service(name); !r) return r.error();
  // Its token stops working with the swap; its OAuth client (and the tokens issued to it) and
  // its route go too.
  if (!s->url.empty() && !s->token_sha256.empty())
    if (auto r = store_.delete_oauth_client(s->oauth_client_id); !r) log_.warn("service {}: {}", name, r.error().message);
  if (!s->url.empty()) routes_.remove(proxy::route_key_for_url_path(s->prefix));
  live_.store(now->without(name));
  return {};
}

}  // namespace nbhub::app
