// Hub-wide REST routes (spec/jupyterhub-contract.md §4.2): /info, /services, /proxy,
// /shutdown, the deprecated /authorizations/token/{token}, /api/health, and the JSON 404 for
// every other /hub/api path.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "hub/services.hpp"
#include "hub/tokens.hpp"
#include "proxy/route_table.hpp"
#include "store/store.hpp"
#include "web/api_common.hpp"

namespace nbhub::web {

namespace net = boost::asio;
namespace json = boost::json;
using http::Context;
using http::Response;

namespace {

struct HubApi {
  std::shared_ptr<Api const> a;

  // GET /info
  net::awaitable<Response> info(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    if (auto deny = a->need(std::get<Caller>(cr), {"read:hub"})) co_return std::move(*deny);
    std::string authenticator = a->d.cfg.load()->auth.providers.empty() ? "nbhub.NullAuthenticator" : "nbhub.OAuthenticator";
    co_return a->json(200, json::object{
        {"version", a->d.jupyterhub_version},
        {"python", "nbhub (C++)"},
        {"sys_executable", "nbhub"},
        {"spawner", json::object{{"class", "nbhub.LocalSpawner"}, {"version", a->d.jupyterhub_version}}},
        {"authenticator", json::object{{"class", authenticator}, {"version", a->d.jupyterhub_version}}},
    });
  }

  // GET /services: an object keyed by name.
  net::awaitable<Response> services(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    if (auto deny = a->need_any_form(c, "list:services")) co_return std::move(*deny);
    json::object out;
    auto const services = a->d.auth.services();
    for (auto const& s : services->all())
      if (hub::has_scope(c.scope_set, "list:services", hub::ScopeTarget{.service = s.name}))
        out[s.name] = a->service_model(s, c);
    co_return a->json(200, out);
  }

  // GET /services/{name}
  net::awaitable<Response> service(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto name = ctx.params[0];
    if (auto deny = a->need(c, {"read:services", "read:services:name", "read:roles:services"}, hub::ScopeTarget{.service = name}))
      co_return std::move(*deny);
    auto const services = a->d.auth.services();
    auto const* s = services->find(name);
    if (!s) co_return a->error(404, fmt::format("No such service: {}", name));
    co_return a->json(200, a->service_model(*s, c));
  }

  // GET /proxy: the routing table, CHP's shape with JupyterHub's trailing-slash routespecs.
  net::awaitable<Response> proxy_get(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    if (auto deny = a->need(std::get<Caller>(cr), {"proxy"})) co_return std::move(*deny);
    auto pg = a->page(ctx);
    if (auto* r = std::get_if<Response>(&pg)) co_return std::move(*r);
    auto p = std::get<Api::Page>(pg);
    auto routes = a->d.routes.snapshot()->routes();
    auto total = static_cast<std::int64_t>(routes.size());
    json::object table;
    json::array items;
    for (auto i = p.offset; i < total && i < p.offset + p.limit; ++i) {
      auto const& r = routes[static_cast<std::size_t>(i)];
      auto spec = r->prefix() == "/" ? std::string("/") : r->prefix() + "/";
      json::object data = r->data();
      data["last_activity"] = iso8601(r->last_activity());
      json::object entry{{"routespec", spec}, {"target", r->target().url}, {"data", std::move(data)}};
      if (p.envelope) items.push_back(std::move(entry));
      else table[spec] = std::move(entry);
    }
    if (!p.envelope) co_return a->json(200, table);
    co_return a->json(200, a->paged(ctx, p, std::move(items), total));
  }

  // POST /proxy: the table lives in this process, so it is always in sync.
  net::awaitable<Response> proxy_post(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    if (auto deny = a->need(std::get<Caller>(cr), {"proxy"})) co_return std::move(*deny);
    co_return a->empty(200);
  }

  // PATCH /proxy: JupyterHub switches to another external proxy; nbhub's proxy is built in.
  net::awaitable<Response> proxy_patch(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    if (auto deny = a->need(std::get<Caller>(cr), {"proxy"})) co_return std::move(*deny);
    co_return a->error(400, "nbhub's proxy is built in: there is no external proxy to switch to");
  }

  // POST /shutdown {"proxy": bool?, "servers": bool?}
  net::awaitable<Response> shutdown(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    if (auto deny = a->need(c, {"shutdown"})) co_return std::move(*deny);
    auto b = a->body(ctx);
    if (auto* r = std::get_if<Response>(&b)) co_return std::move(*r);
    auto& v = std::get<json::value>(b);
    if (v.is_object())
      for (auto key : {"proxy", "servers"})
        if (auto it = v.as_object().find(key); it != v.as_object().end() && !it->value().is_bool())
          co_return a->error(400, fmt::format("{} must be true or false, not {}", key, json::serialize(it->value())));
    a->d.log.info("shutdown requested through the API by {}", c.service ? "service " + c.service->name : c.user.name);
    if (a->d.shutdown) {
      // After this reply has been written.
      auto ex = co_await net::this_coro::executor;
      auto later = [fn = a->d.shutdown]() -> net::awaitable<void> {
        net::steady_timer t(co_await net::this_coro::executor, std::chrono::milliseconds(200));
        co_await t.async_wait(net::use_awaitable);
        fn();
      };
      net::co_spawn(ex, std::move(later), net::detached);
    }
    co_return a->json(202, json::object{{"message", "Shutting down Hub"}});
  }

  // GET /authorizations/token/{token} (deprecated since 2.0): the owner of a token, for a
  // token-authenticated caller.
  net::awaitable<Response> token_owner(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    if (!c.token && !c.service) co_return a->error(403, "This deprecated endpoint needs token authentication");
    a->d.log.warn("/authorizations/token/:token is deprecated in JupyterHub 2.0; use /hub/api/user");
    auto raw = ctx.params[0];
    auto const services = a->d.auth.services();
    if (auto const* s = services->by_token(raw)) co_return a->json(200, a->service_model(*s, c));
    auto token = co_await a->d.tokens.resolve(raw);
    if (!token || !token->user_id) co_return a->error(404, "No such token");
    auto work = [this, uid = *token->user_id]() { return a->d.store.get_user_by_id(uid); };
    auto user = co_await a->blocking(std::move(work));
    if (!user) co_return a->error(404, "No such token");
    // Holding a token is enough to read its owner's identity.
    co_return a->json(200, a->user_model(*user, c, false, true));
  }

  net::awaitable<Response> removed(Context&) const { co_return a->error(404, "Not Found"); }
  net::awaitable<Response> health(Context&) const { co_return a->empty(200); }
};

}  // namespace

void add_hub_api(http::Router& router, std::shared_ptr<Api const> api) {
  auto r = std::make_shared<HubApi const>(HubApi{api});
  auto const& p = api->route;
  using http::bhttp::verb;
  router.get(p + "info", bind_api<HubApi, &HubApi::info>(r));
  router.get(p + "health", bind_api<HubApi, &HubApi::health>(r));
  router.get(p + "services", bind_api<HubApi, &HubApi::services>(r));
  router.get(p + "services/{name}", bind_api<HubApi, &HubApi::service>(r));
  router.get(p + "proxy", bind_api<HubApi, &HubApi::proxy_get>(r));
  router.post(p + "proxy", bind_api<HubApi, &HubApi::proxy_post>(r));
  router.add(verb::patch, p + "proxy", bind_api<HubApi, &HubApi::proxy_patch>(r));
  router.post(p + "shutdown", bind_api<HubApi, &HubApi::shutdown>(r));
  router.get(p + "authorizations/token/{token}", bind_api<HubApi, &HubApi::token_owner>(r));
  router.post(p + "authorizations/token", bind_api<HubApi, &HubApi::removed>(r));
  // Unknown API paths answer JSON, never the HTML 404 page.
  for (auto v : {verb::get, verb::post, verb::put, verb::patch, verb::delete_})
    router.add(v, p + "*", bind_api<HubApi, &HubApi::removed>(r));
}

}  // namespace nbhub::web
