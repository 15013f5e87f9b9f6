// Runtime services (JupyterHub 5.2's ServiceAPIHandler.post/delete): POST and DELETE
// /hub/api/services/{name} with `admin:services`. A created service is kept in the store and
// works as a configured one: its api_token authenticates, its OAuth client and /services/
// route exist. Services from the config cannot be deleted (405), as in JupyterHub.
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "core/crypto.hpp"
#include "hub/roles.hpp"
#include "hub/services.hpp"
#include "web/api_common.hpp"

namespace nbhub::web {

namespace net = boost::asio;
namespace json = boost::json;
using http::Context;
using http::Response;

namespace {

struct ServicesApi {
  std::shared_ptr<Api const> a;

  // JupyterHub's _check_service_scopes: an admin service gets the admin role's scopes, and its
  // OAuth clients may ask for oauth_client_allowed_scopes; the caller must hold all of them.
  std::optional<Response> check_scopes(Caller const& c, hub::Service const& s) const {
    std::vector<std::string> wanted = s.oauth_client_allowed_scopes;
    if (s.admin)
      if (auto const* admin = a->d.auth.roles()->find("admin")) wanted.insert(wanted.end(), admin->scopes.begin(), admin->scopes.end());
    for (auto const& w : wanted) {
      auto p = hub::parse_scope(w);
      hub::ScopeTarget t;
      auto value = std::string(p.filter_value);
      if (p.filter_kind == "user") t.user = value;
      else if (p.filter_kind == "server") {
        t.user = value.substr(0, value.find('/'));
        t.server = value.find('/') == std::string::npos ? std::string{} : value.substr(value.find('/') + 1);
      } else if (p.filter_kind == "group") t.group = value;
      else if (p.filter_kind == "service") t.service = value;
      bool held = p.base.starts_with("custom:") || (!p.bare_filter && hub::has_scope(c.scope_set, p.base, t)) ||
                  (p.bare_filter && hub::has_scope(c.scope_set, p.base));
      if (!held) {
        auto who = c.service ? c.service->name : c.user.name;
        return a->error(400, fmt::format("Not assigning requested scopes {} not held by {}", w, who));
      }
    }
    return std::nullopt;
  }

  // POST /services/{name}
  net::awaitable<Response> create(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto name = ctx.params[0];
    if (auto deny = a->need(c, {"admin:services"}, {.service = name})) co_return std::move(*deny);
    if (!a->d.add_service) co_return a->error(405, "Services cannot be created at runtime on this hub.");
    if (a->d.auth.services()->find(name)) co_return a->error(409, fmt::format("Service {} already exists", name));
    auto b = a->body(ctx);
    if (auto* r = std::get_if<Response>(&b)) co_return std::move(*r);
    auto& v = std::get<json::value>(b);
    if (!v.is_object() || v.as_object().empty()) co_return a->error(400, "Invalid service data");
    json::object spec = v.as_object();
    spec["name"] = name;
    for (auto key : {"url", "api_token", "oauth_client_id", "oauth_redirect_uri"})
      if (auto it = spec.find(key); it != spec.end() && !it->value().is_string() && !it->value().is_null())
        co_return a->error(400, fmt::format("{} must be a string", key));
    // The token is kept as its hash only, like every token of the store.
    if (auto it = spec.find("api_token"); it != spec.end()) {
      if (it->value().is_string()) {
        auto const& tok = it->value().as_string();
        if (tok.size() < 8) co_return a->error(400, "api_token must be at least 8 characters");
        spec["api_token_sha256"] = crypto::hex_encode(crypto::sha256(std::string_view(tok)));
      }
      spec.erase("api_token");
    }
    auto service = hub::ServiceRegistry::runtime_service(spec, a->d.cfg.load()->base_url);
    if (!service) co_return a->error_from(service.error());
    if (auto deny = check_scopes(c, *service)) co_return std::move(*deny);
    auto work = [this, spec, s = *service]() { return a->d.add_service(spec, s); };
    auto r = co_await a->blocking(std::move(work));
    if (!r) co_return a->error_from(r.error());
    a->d.log.info("service {} created at runtime by {}", name, c.service ? "service " + c.service->name : c.user.name);
    co_return a->json(201, a->service_model(*service, c, true));
  }

  // DELETE /services/{name}
  net::awaitable<Response> remove(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    auto name = ctx.params[0];
    if (auto deny = a->need(c, {"admin:services"}, {.service = name})) co_return std::move(*deny);
    auto const services = a->d.auth.services();
    auto const* s = services->find(name);
    if (!s) co_return a->error(404, fmt::format("Service {} does not exist", name));
    if (s->from_config || !a->d.remove_service) co_return a->error(405, fmt::format("Service {} is not modifiable at runtime", name));
    auto work = [this, name]() { return a->d.remove_service(name); };
    auto r = co_await a->blocking(std::move(work));
    if (!r) co_return a->error_from(r.error());
    a->d.log.info("service {} deleted by {}", name, c.service ? "service " + c.service->name : c.user.name);
    co_return a->empty(200);
  }
};

}  // namespace

void add_service_api(http::Router& router, std::shared_ptr<Api const> api) {
  auto r = std::make_shared<ServicesApi const>(ServicesApi{api});
  auto const& p = api->route;
  router.post(p + "services/{name}", bind_api<ServicesApi, &ServicesApi::create>(r));
  router.add(http::bhttp::verb::delete_, p + "services/{name}", bind_api<ServicesApi, &ServicesApi::remove>(r));
}

}  // namespace nbhub::web
