#pragma once
// The JupyterHub REST API (spec/jupyterhub-contract.md §4), shared parts: dependencies, the one
// error shape `{"status", "message"}`, scope checks with JupyterHub's messages, JSON bodies,
// pagination, and the models (§4.3) filtered by the caller's read scopes. One file per resource
// registers its routes: api_users.cpp, api_tokens.cpp, api_groups.cpp, api_hub.cpp.
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "config/reload_plan.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/snapshot.hpp"
#include "http/router.hpp"
#include "hub/blocking.hpp"
#include "hub/scopes.hpp"
#include "hub/services.hpp"
#include "store/rows.hpp"
#include "web/api_bodies.hpp"
#include "web/request_auth.hpp"

namespace boost::asio { class thread_pool; }
namespace spdlog { class logger; }
namespace nbhub::config { struct HubConfig; }
namespace nbhub::hub { class ServerManager; class TokenService; class TokenRefresher; struct Service; class ShareAccess; }
namespace nbhub::proxy { class RouteTable; }
namespace nbhub::store { class Store; }
namespace nbhub { class Random; }

namespace nbhub::web {

struct HandlerHooks;

struct ApiDeps {
  SnapshotRef<config::HubConfig> cfg;  // read per request: a reload applies to later requests
  RequestAuth& auth;
  hub::ServerManager& servers;
  hub::TokenService& tokens;
  store::Store& store;
  boost::asio::thread_pool& pool;
  proxy::RouteTable& routes;
  spdlog::logger& log;
  std::string jupyterhub_version = "3.0.0";
  // Asks the hub to stop (POST /shutdown); called after the reply is on its way.
  std::function<void()> shutdown;
  // auth_state for admin:auth_state holders in GET /users/{name}; null: never included.
  hub::TokenRefresher* refresher = nullptr;
  // GET /config and POST /config/reload (api_config.cpp); unset: those paths answer 404.
  std::function<boost::json::object()> describe_config;
  std::function<boost::asio::awaitable<config::ReloadOutcome>(std::string trigger)> reload_config;
  // The pid of a running managed service (hub/service_supervisor.hpp) for the service model's
  // `pid`; unset, or nullopt (external, or between restarts): 0, as JupyterHub.
  std::function<std::optional<int>(std::string const& service)> service_pid;
  // Share codes (api_shares.cpp) and runtime services: their random values and timestamps.
  // Unset: those endpoints answer 503.
  Random* random = nullptr;
  Clock const* clock = nullptr;
  // Runtime services (api_services.cpp, app/runtime_services.hpp): add one (its stored spec,
  // the api_token replaced by "api_token_sha256") or remove one, publishing the new registry
  // with its OAuth client and route. Blocking. Unset: POST/DELETE /services/{name} answer 405.
  std::function<Result<void>(boost::json::object spec, hub::Service service)> add_service;
  std::function<Result<void>(std::string name)> remove_service;
  // Revocations that must reach servers at once (hub/share_access.hpp); null: hub-side only.
  hub::ShareAccess* share_access = nullptr;
  HandlerHooks const* handler_hooks = nullptr;  // named_server_limit_per_user as a function
};

// Registers every REST route of this file family (not the ones in server_routes.cpp).
void add_api_routes(http::Router& router, ApiDeps deps);

std::string iso8601(std::optional<Clock::SysTime> t);
// Pagination (§4.4): whether `Accept` lists application/jupyterhub-pagination+json (any case,
// among comma-separated entries, parameters ignored), and offset/limit as JupyterHub reads
// them (abs(int(value)); nullopt when not an integer).
bool accepts_pagination(std::string const& accept);
std::optional<std::int64_t> parse_page_int(std::string const& s);
boost::json::value iso_or_null(std::optional<Clock::SysTime> t);


// Either a value or the error response to send.
template <class T>
using Checked = std::variant<T, http::Response>;

class Api {
 public:
  explicit Api(ApiDeps d);
  ApiDeps d;
  std::string base;      // URL prefix, encoded: "/" or "/jh/"
  std::string route;     // router prefix, decoded, + "hub/api/"

  std::string hub(std::string_view rest = "") const { return base + "hub/" + std::string(rest); }

  http::Response json(unsigned status, boost::json::value const& v) const;
  http::Response empty(unsigned status) const;
  http::Response error(unsigned status, std::string_view message) const;
  http::Response error_from(Error const& e) const;  // Errc -> status
  static unsigned status_of(Errc c);

  // The caller; anonymous (no scopes) without credentials. JupyterHub never answers 401.
  // Cookie callers' writes and script reads need the session's _xsrf (RequestAuth::xsrf_refusal).
  boost::asio::awaitable<Checked<Caller>> caller(http::Context& ctx) const;
  // nullopt when one of `bases` is held for `target`; otherwise the 403.
  std::optional<http::Response> need(Caller const& c, std::initializer_list<std::string_view> bases,
                                     hub::ScopeTarget const& target = {}) const;
  std::optional<http::Response> need_any_form(Caller const& c, std::string_view base) const;

  // The body as JSON: null for an empty body; 400 "Invalid JSON in body of request".
  Checked<boost::json::value> body(http::Context const& ctx) const;

  template <class F>
  auto blocking(F f) const { return hub::run_blocking(d.pool, std::move(f)); }

  // Pagination (§4.4).
  struct Page {
    std::int64_t offset = 0, limit = 0;
    bool envelope = false;
  };
  Checked<Page> page(http::Context const& ctx) const;
  boost::json::value paged(http::Context const& ctx, Page const& p, boost::json::array items, std::int64_t total) const;

  // Models (§4.3), filtered by what `c` may read.
  hub::ScopeTarget user_target(store::UserRow const& u) const;
  // Recorded server rows by server name: their last_activity (activity reports go to the
  // store) is newer than the live view's.
  using ServerRows = std::map<std::string, store::ServerRow>;
  boost::json::object server_model(store::UserRow const& u, std::string const& name, bool include_state,
                                   ServerRows const* rows = nullptr) const;
  boost::json::object user_model(store::UserRow const& u, Caller const& c, bool include_stopped = false,
                                 bool identify_self = false, ServerRows const* rows = nullptr) const;
  // Blocking: every recorded server, by user name.
  std::map<std::string, ServerRows> all_server_rows() const;
  ServerRows server_rows(std::int64_t user_id) const;
  boost::json::object token_model(store::TokenRow const& t, std::string const& owner) const;
  boost::json::object group_model(store::GroupRow const& g, Caller const& c) const;
  boost::json::object service_model(hub::Service const& s, Caller const& c, bool full = false) const;
};

void add_user_api(http::Router& router, std::shared_ptr<Api const> api);
void add_token_api(http::Router& router, std::shared_ptr<Api const> api);
void add_group_api(http::Router& router, std::shared_ptr<Api const> api);
void add_hub_api(http::Router& router, std::shared_ptr<Api const> api);
void add_config_api(http::Router& router, std::shared_ptr<Api const> api);
// Runtime services (JupyterHub 5.2): POST/DELETE /services/{name}.
void add_service_api(http::Router& router, std::shared_ptr<Api const> api);
// Sharing (JupyterHub 5.0): /shares, /share-codes, /users/{name}/shared, /groups/{name}/shared.
void add_share_api(http::Router& router, std::shared_ptr<Api const> api);
// The token and admin pages (account_pages.cpp).
void add_account_pages(http::Router& router, std::shared_ptr<Api const> api);

// Binds a member function as a handler.
template <class T, auto Method>
http::Handler bind_api(std::shared_ptr<T const> r) {
  return [r](http::Context& ctx) -> boost::asio::awaitable<http::Response> { co_return co_await ((*r).*Method)(ctx); };
}

}  // namespace nbhub::web
