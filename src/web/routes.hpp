#pragma once
// The hub's browser-facing routes: login (OAuth buttons and/or a password form), OAuth
// login/callback, logout, home, and the minimal identity endpoint. Handlers are thin: they call
// auth::LoginFlow, auth::PasswordLogin and hub::LoginService and map Results to pages,
// redirects and cookies. A hub with no way to sign in (kind = "null", or no provider) answers
// /hub/login with 403, as JupyterHub's NullAuthenticator does.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>

#include "core/snapshot.hpp"
#include "http/router.hpp"

namespace spdlog { class logger; }
namespace nbhub::auth { class LoginFlow; class PasswordLogin; }
namespace nbhub::hub { class LoginService; }
namespace nbhub::config { struct HubConfig; }

namespace nbhub::web {

struct HandlerHooks;

struct WebDeps {
  SnapshotRef<config::HubConfig> cfg;  // read per request: a reload applies to later requests
  auth::LoginFlow& flow;
  hub::LoginService& logins;
  spdlog::logger& log;
  auth::PasswordLogin& passwords;  // kind = "dummy" or "shared-password": the form on the login page
  HandlerHooks const* handler_hooks = nullptr;  // a default_url function (web/handler_hooks.hpp)
  // Readiness of /hub/health: empty when this process can do its work, else why not (with
  // replicas, the shared database out of reach: the load balancer then sends requests to a
  // replica that can write). Unset: always healthy, as JupyterHub's /hub/health.
  std::function<boost::asio::awaitable<std::string>()> health_problem = {};
};

void add_hub_routes(http::Router& router, WebDeps deps);

}  // namespace nbhub::web
