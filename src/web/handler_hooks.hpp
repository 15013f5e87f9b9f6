#pragma once
// JupyterHub traits that jupyterhub_config.py may give as functions of the request handler:
// JupyterHub.default_url(handler) and JupyterHub.named_server_limit_per_user(handler)
// (docs/hooks.md). Handlers ask here instead of reading the two values from the configuration,
// so a function is called per request and a plain value costs nothing more.
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "hub/python_hooks.hpp"
#include "web/request_auth.hpp"

namespace nbhub::config { struct HubConfig; }
namespace nbhub::http { struct Context; }

namespace nbhub::web {

struct HandlerHooks {
  hub::HandlerHook call;  // the Python helper's JupyterHub.<trait>(handler); unset without hooks
  bool default_url = false;
  bool named_server_limit = false;
};

// JupyterHub's handler.current_user for an API caller: the user, or nullopt for a service.
inline std::optional<std::string> current_user_name(Caller const& c) {
  if (c.user.id == 0) return std::nullopt;
  return c.user.name;
}

// What the handler stand-in carries of this request (no Cookie, no Authorization).
hub::HandlerCall handler_call(http::Context const& ctx, std::optional<std::string> user);

// Where `/hub/` and a sign-in without `next` lead: the configured default_url, or what the
// function returns for this request and user ("" when neither says). Errc::config when the
// function fails; its message names the hook and its line.
boost::asio::awaitable<Result<std::string>> default_url_for(HandlerHooks const* hooks, config::HubConfig const& cfg,
                                                            http::Context const& ctx, std::optional<std::string> user);

// The named-server limit for this request (0: none); `user` is who makes it (nullopt for a
// service), as JupyterHub's handler.current_user.
boost::asio::awaitable<Result<std::size_t>> named_server_limit_for(HandlerHooks const* hooks,
                                                                   config::HubConfig const& cfg,
                                                                   http::Context const& ctx, std::optional<std::string> user);

}  // namespace nbhub::web
