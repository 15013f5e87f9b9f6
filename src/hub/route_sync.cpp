#include "hub/route_sync.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/json/object.hpp>
#include <spdlog/spdlog.h>

#include <set>
#include <tuple>
#include <vector>

#include "hub/blocking.hpp"
#include "hub/servers.hpp"
#include "proxy/route_table.hpp"
#include "store/store.hpp"

namespace nbhub::hub {

namespace net = boost::asio;
namespace json = boost::json;

RouteSync::RouteSync(store::Store& store, proxy::RouteTable& routes, ServerManager& servers,
                     net::thread_pool& pool, net::any_io_executor ex, spdlog::logger& log)
    : store_(store), routes_(routes), servers_(servers), pool_(pool), ex_(std::move(ex)), log_(log) {}

void RouteSync::request() {
  if (queued_.exchange(true)) return;
  net::co_spawn(ex_, [this]() -> net::awaitable<void> {
    queued_ = false;  // a change from now on queues another round
    co_await resync();
  }, [this](std::exception_ptr e) {
    if (!e) return;
    try { std::rethrow_exception(e); } catch (std::exception const& ex) {
      log_.error("route resync ended by an exception: {}", ex.what());
    }
  });
}

namespace {
bool is_synced(proxy::RoutePtr const& r) {
  auto it = r->data().find("replica_sync");
  return it != r->data().end() && it->value().is_bool() && it->value().get_bool();
}
}  // namespace

net::awaitable<void> RouteSync::resync() {
  // The server rows, read once: ServerManager's cache of other replicas' servers follows them
  // (state, progress), then the routes.
  auto rows = co_await servers_.sync_from_store();
  if (!rows) co_return;  // logged by sync_from_store
  ++resyncs_;
  std::map<std::string, std::tuple<std::string, std::string, std::int64_t, std::string>> wanted;  // key -> url, user, id, server
  for (auto const& rec : *rows) {
    auto const& row = rec.server;
    if (row.url.empty() || !row.pending.empty()) continue;
    // The servers this replica routes itself have their routes from ServerManager.
    if (servers_.routed_here(rec.user_name, row.name)) continue;
    auto key = proxy::normalize_prefix(proxy::route_key_for_url_path(servers_.prefix_for(rec.user_name, row.name)));
    wanted[key] = {row.url, rec.user_name, row.user_id, row.name};
  }
  auto snap = routes_.snapshot();
  int added = 0, removed = 0;
  for (auto const& r : snap->routes()) {
    if (!is_synced(r)) continue;
    auto it = wanted.find(r->prefix());
    if (it == wanted.end() || std::get<0>(it->second) != r->target().url) {
      routes_.remove(r->prefix());
      ++removed;
    }
  }
  std::map<std::string, Owner> owners;
  snap = routes_.snapshot();
  for (auto const& [key, w] : wanted) {
    auto const& [url, user, user_id, server] = w;
    owners[key] = Owner{user_id, server};
    if (auto cur = snap->get(key); cur) {
      if (!is_synced(cur) || cur->target().url == url) continue;  // a local route, or already right
    }
    json::object data{{"user", user}, {"server_name", server}, {"replica_sync", true}};
    if (auto a = routes_.add(key, url, std::move(data)); !a)
      log_.warn("route resync: cannot route {} to {}: {}", key, url, a.error().message);
    else
      ++added;
  }
  {
    std::lock_guard lock(mu_);
    synced_ = std::move(owners);
  }
  if (added || removed) log_.info("route resync: {} route(s) of other replicas' servers added, {} removed", added, removed);
}

net::awaitable<void> RouteSync::flush_activity() {
  std::vector<std::tuple<std::int64_t, std::string, Clock::SysTime>> touched;
  {
    std::lock_guard lock(mu_);
    auto const since = flushed_;
    flushed_ = routes_.clock().now();
    for (auto const& a : routes_.activity_since(since)) {
      auto it = synced_.find(a.prefix);
      if (it != synced_.end()) touched.emplace_back(it->second.user_id, it->second.server_name, a.last_activity);
    }
  }
  if (touched.empty()) co_return;
  auto flush = [this, touched]() {
    for (auto const& [uid, server, ts] : touched)
      if (auto r = store_.touch_server_activity(uid, server, ts); !r && r.error().code != Errc::not_found)
        log_.warn("recording activity seen on another replica's server: {}", r.error().message);
  };
  co_await run_blocking(pool_, flush);
}

}  // namespace nbhub::hub
