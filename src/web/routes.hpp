#pragma once
// The hub's browser-facing routes: login, OAuth login/callback, logout, home, and the minimal
// identity endpoint. Handlers are thin: they call auth::LoginFlow and hub::LoginService and
// map Results to pages, redirects and cookies.
#include <string>

#include "http/router.hpp"

namespace spdlog { class logger; }
namespace nbhub::auth { class LoginFlow; }
namespace nbhub::hub { class LoginService; }
namespace nbhub::config { struct HubConfig; }

namespace nbhub::web {

struct WebDeps {
  config::HubConfig const& cfg;
  auth::LoginFlow& flow;
  hub::LoginService& logins;
  spdlog::logger& log;
};

void add_hub_routes(http::Router& router, WebDeps deps);

}  // namespace nbhub::web
