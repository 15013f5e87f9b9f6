#pragma once
// A client of an external configurable-http-proxy's REST API (spec/jupyterhub-contract.md §6)
// that mirrors nbhub's own RouteTable into it: z2jh mode, where the chart always runs its own
// CHP in front of the hub (spec/kubernetes.md §1.8, §5.2 item 5).
//
//  * Every add/remove in the table is sent as POST/DELETE /api/routes/<prefix>, in order. The
//    body is the route's data plus "target" and "jupyterhub": true, as JupyterHub sends it
//    (`{"user": "alice", "server_name": "", "jupyterhub": true, "target": "http://..."}`).
//  * reconcile(), at start() and every `check_interval`: GET /api/routes; routes the table has
//    and CHP lacks (or has with another target) are added; CHP routes marked "jupyterhub" that
//    the table lacks are deleted; other routes (CHP's default route "/", anything an operator
//    added) are kept; CHP's last_activity of each mirrored route moves the table's activity
//    forward, so the hub's activity flush and the culler see traffic that went through CHP.
//  * A failed call is logged (the method and path, never the token) and repaired by an early
//    reconcile, retried with backoff up to `check_interval`. The table's own "/" route, if any,
//    is never mirrored: CHP's --default-target is the hub.
//
// Threading: route_added/route_removed come from any thread (RouteObserver contract) and only
// queue; all HTTP calls run one at a time on the client's own strand.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/logger.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "core/secret.hpp"
#include "http/client.hpp"
#include "proxy/route_table.hpp"

namespace nbhub::proxy {

struct ChpClientConfig {
  std::string api_url;  // "http://proxy-api:8001"; a trailing '/' is dropped
  Secret token;         // CONFIGPROXY_AUTH_TOKEN; empty: no Authorization header
  std::chrono::seconds check_interval{60};
  std::chrono::milliseconds request_timeout{10'000};  // JupyterHub's CHP client: 10 s
  std::size_t max_queue = 10'000;  // beyond this, queued changes collapse into a reconcile
};

struct ReconcileStats {
  std::size_t chp_routes = 0;  // routes CHP listed
  std::size_t added = 0;
  std::size_t deleted = 0;
  std::size_t activity = 0;  // mirrored routes whose activity moved forward
};

// The REST path for a route prefix: "/api/routes" + the prefix percent-encoded except for
// unreserved characters and "/@~" (JupyterHub's quoting).
std::string chp_route_path(std::string_view prefix);

class ChpClient : public RouteObserver {
 public:
  // `routes`, `http` and `log` outlive the client. Nothing happens before start().
  ChpClient(boost::asio::any_io_executor ex, ChpClientConfig cfg, RouteTable& routes,
            http::HttpClient& http, spdlog::logger& log);
  ~ChpClient() override;  // detaches from the table
  ChpClient(ChpClient const&) = delete;
  ChpClient& operator=(ChpClient const&) = delete;

  // Attaches to the table, then runs on its strand: a reconcile at once, queued changes as they
  // come, a reconcile every check_interval. Call once.
  void start();

  // One full reconcile (on the client's strand). Errors: the GET failing (unavailable, or
  // Errc::bad_gateway for a status other than 200 or a body that is not a JSON object); a
  // failed POST or DELETE is counted out of the stats and logged, not returned.
  boost::asio::awaitable<Result<ReconcileStats>> reconcile();

  void route_added(RoutePtr const& route) override;
  void route_removed(std::string const& prefix) override;

 private:
  struct Change {
    bool add = true;
    RoutePtr route;      // add
    std::string prefix;  // remove
  };
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<bool> send_change(Change c);
  boost::asio::awaitable<Result<http::ClientResponse>> call(std::string method, std::string path,
                                                            std::string body);
  void wake();

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  ChpClientConfig cfg_;
  RouteTable& routes_;
  http::HttpClient& http_;
  spdlog::logger& log_;
  boost::asio::steady_timer timer_;  // strand-only
  std::mutex mu_;
  std::deque<Change> queue_;  // GUARDED_BY(mu_)
  bool overflowed_ = false;   // GUARDED_BY(mu_): changes were dropped; reconcile instead
};

}  // namespace nbhub::proxy
