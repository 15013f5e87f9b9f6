#pragma once
// Routes for users' servers: the hub side of the single-user server contract
// (spec/jupyterhub-contract.md §2-§3: /hub/api/, /hub/api/user, activity, the OAuth provider),
// the server API (start/stop/progress) and the pages around it (spawn, spawn-pending,
// /hub/user/<name>/ when the server is not running).
#include "core/clock.hpp"
#include "core/snapshot.hpp"
#include "http/router.hpp"

namespace boost::asio { class thread_pool; }
namespace spdlog { class logger; }
namespace nbhub::config { struct HubConfig; }
namespace nbhub::hub { class OAuthProvider; class ServerManager; class TokenService; class TokenRefresher; class ShareAccess; }
namespace nbhub::store { class Store; }
namespace nbhub { class Random; }

namespace nbhub::web {

struct HandlerHooks;

class RequestAuth;

struct ServerRouteDeps {
  SnapshotRef<config::HubConfig> cfg;  // read per request: a reload applies to later requests
  RequestAuth& auth;
  hub::OAuthProvider& oauth;
  hub::ServerManager& servers;
  store::Store& store;
  boost::asio::thread_pool& pool;
  spdlog::logger& log;
  std::string jupyterhub_version = "3.0.0";  // reported in /hub/api/ and X-JupyterHub-Version
  hub::TokenRefresher* refresher = nullptr;   // auth_state in the user model (admin:auth_state)
  // Share codes made on the home page (share_pages.cpp); unset: that form answers 503.
  Random* random = nullptr;
  Clock const* clock = nullptr;
  hub::ShareAccess* share_access = nullptr;  // hub/share_access.hpp; null: hub-side only
  HandlerHooks const* handler_hooks = nullptr;  // named_server_limit_per_user as a function
};

void add_server_routes(http::Router& router, ServerRouteDeps deps);

}  // namespace nbhub::web
