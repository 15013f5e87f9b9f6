#pragma once
// Routes everywhere (docs/replicas.md): every replica's proxy routes to every running server,
// including the servers other replicas started. The servers' rows are the truth; each
// replica's route table is a cache of them. A replica that starts or stops a server tells the
// others (the store NOTIFYs "nbhub_servers" inside each transition of a server's row), they
// resync; after every (re)connection of the listener and on every poll round they resync in
// full, since a notification can be lost.
//
// A resync reads every server row (one query, through ServerManager::sync_from_store, which
// brings its cache of the servers' state up to date) and reconciles only the routes it owns
// (marked "replica_sync" in their data): a ready row (url set, nothing pending) of a server
// this replica's ServerManager does not route itself gets a route; a synced route whose row is gone or
// changed is removed or replaced. Routes the local ServerManager made are never touched.
//
// Activity seen on synced routes is written to the servers' rows (flush_activity), so culling
// sees activity from every replica.
//
// Thread-safety: request() from any thread (it coalesces: one resync queued at a time);
// resync() and flush_activity() are coroutines on the hub's executor.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "store/store.hpp"

namespace spdlog { class logger; }
namespace nbhub::store { class Store; }
namespace nbhub::proxy { class RouteTable; }

namespace nbhub::hub {

class ServerManager;

// The NOTIFY channel of server changes; the payload is the id of the replica that made them.
// The store sends it inside every transition of a server's row (store.hpp).
inline constexpr std::string_view kServersChannel = store::kServerChangesChannel;

class RouteSync {
 public:
  RouteSync(store::Store& store, proxy::RouteTable& routes, ServerManager& servers,
            boost::asio::thread_pool& pool, boost::asio::any_io_executor ex, spdlog::logger& log);

  // Queues a resync on the executor unless one is already queued (any thread).
  void request();
  boost::asio::awaitable<void> resync();
  // Activity on synced routes since the last flush, into the servers' rows.
  boost::asio::awaitable<void> flush_activity();

  std::uint64_t resyncs() const { return resyncs_.load(); }

 private:
  store::Store& store_;
  proxy::RouteTable& routes_;
  ServerManager& servers_;
  boost::asio::thread_pool& pool_;
  boost::asio::any_io_executor ex_;
  spdlog::logger& log_;
  std::atomic<bool> queued_{false};
  std::atomic<std::uint64_t> resyncs_{0};
  std::mutex mu_;
  struct Owner {
    std::int64_t user_id = 0;
    std::string server_name;
  };
  std::map<std::string, Owner> synced_;  // GUARDED_BY(mu_), by route key
  Clock::SysTime flushed_{};             // GUARDED_BY(mu_)
};

}  // namespace nbhub::hub
