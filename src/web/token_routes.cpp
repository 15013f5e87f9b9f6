#include "web/token_routes.hpp"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "auth/refresh.hpp"
#include "hub/scopes.hpp"
#include "hub/token_refresher.hpp"
#include "web/base_url.hpp"
#include "web/request_auth.hpp"

namespace nbhub::web {

namespace net = boost::asio;
namespace json = boost::json;
using http::Context;
using http::Response;

namespace {

unsigned status_for(Errc c) {
  switch (c) {
    case Errc::unauthorized: return 401;
    case Errc::forbidden: return 403;
    case Errc::not_found: return 404;
    case Errc::unavailable: return 503;
    case Errc::bad_gateway: return 502;
    default: return 500;
  }
}

bool truthy(std::optional<std::string> const& v) {
  return v && (*v == "1" || *v == "true" || *v == "yes" || v->empty());
}

struct TokenRoutes {
  TokenRouteDeps d;

  Response api(unsigned status, json::value const& v) const {
    auto res = http::json_response(status, json::serialize(v));
    res.set("X-JupyterHub-Version", d.jupyterhub_version);
    res.set("Cache-Control", "no-store");  // RFC 6749 §5.1: token answers are never cached
    res.set("Pragma", "no-cache");
    return res;
  }
  Response error(unsigned status, std::string_view msg) const {
    auto res = http::json_error(status, msg);
    res.set("X-JupyterHub-Version", d.jupyterhub_version);
    res.set("Cache-Control", "no-store");
    return res;
  }

  net::awaitable<Response> refused(Context& ctx) const {
    auto why = co_await d.auth.refusal(ctx);
    co_return error(403, why.empty() ? "Missing or invalid credentials." : why);
  }

  net::awaitable<Response> answer(Context& ctx, Caller const* caller, std::string target) const {
    // The user themself, or whoever holds admin:auth_state for that user. "Themself" is the
    // login cookie or a token that may act for the user (users:activity: the server's
    // JUPYTERHUB_API_TOKEN, the user's own API tokens), not an OAuth token of the
    // `identify` kind that a service received when the user logged in to it: such a service
    // must not obtain the user's identity-provider tokens.
    bool self = caller->user.id != 0 && caller->user.name == target &&
                (caller->via_cookie || hub::any_scope_covers(caller->scopes, "users:activity!user=" + target));
    if (!self && !hub::any_scope_covers(caller->scopes, "admin:auth_state!user=" + target))
      co_return error(403, fmt::format("Reading {}'s identity-provider tokens requires being {} or holding admin:auth_state.", target, target));
    auto state = co_await d.refresher.fresh_auth_state(target);
    if (!state) {
      if (state.error().code != Errc::unauthorized)
        d.log.warn("oauth-token for {}: {}", target, state.error().message);
      co_return error(status_for(state.error().code), state.error().message);
    }
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    json::object out{{"access_token", auth::json_string(*state, "access_token")}, {"token_type", "Bearer"}};
    if (auto exp = auth::access_token_expiry(*state, std::nullopt)) {
      out["expires_at"] = *exp;
      out["expires_in"] = std::max<std::int64_t>(0, *exp - now);
    }
    if (auto it = state->find("scope"); it != state->end()) out["scope"] = it->value();
    if (auto p = d.refresher.provider_for(*state)) out["provider"] = p->name;
    if (truthy(ctx.query_param("id_token")) || truthy(ctx.query_param("include_id_token"))) {
      auto id = auth::json_string(*state, "id_token");
      out["id_token"] = id.empty() ? json::value(nullptr) : json::value(id);
    }
    co_return api(200, out);
  }

  net::awaitable<Response> own(Context& ctx) const {
    auto caller = co_await d.auth.resolve(ctx);
    if (!caller) co_return co_await refused(ctx);
    if (auto why = d.auth.xsrf_refusal(ctx, *caller)) co_return error(403, *why);
    if (caller->user.id == 0)
      co_return error(400, "A service has no identity-provider tokens of its own; use /hub/api/users/{name}/oauth-token.");
    auto name = caller->user.name;
    co_return co_await answer(ctx, &*caller, name);
  }

  net::awaitable<Response> of_user(Context& ctx) const {
    auto caller = co_await d.auth.resolve(ctx);
    if (!caller) co_return co_await refused(ctx);
    if (auto why = d.auth.xsrf_refusal(ctx, *caller)) co_return error(403, *why);
    auto name = ctx.params[0];
    co_return co_await answer(ctx, &*caller, name);
  }
};

template <auto Method>
http::Handler bind(std::shared_ptr<TokenRoutes const> r) {
  return [r](Context& ctx) -> net::awaitable<Response> { co_return co_await ((*r).*Method)(ctx); };
}

}  // namespace

void add_token_routes(http::Router& router, TokenRouteDeps deps) {
  auto h = route_prefix(deps.base_url) + "hub/";
  auto r = std::make_shared<TokenRoutes const>(TokenRoutes{std::move(deps)});
  router.get(h + "api/user/oauth-token", bind<&TokenRoutes::own>(r));
  router.get(h + "api/users/{name}/oauth-token", bind<&TokenRoutes::of_user>(r));
}

}  // namespace nbhub::web
