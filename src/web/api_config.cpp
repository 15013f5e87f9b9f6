// nbhub's configuration endpoints (JupyterHub has none; JupyterHub#4406 asked for the first):
//
//   GET  <base_url>hub/api/config         read:config   the configuration in effect, each value
//                                                       with its source, secrets redacted
//   POST <base_url>hub/api/config/reload  admin:config  read the configuration again and apply
//                                                       it (app/config_reloader.hpp)
//
// admin:config (which includes read:config) is part of the admin role. The reload answers 200
// with the outcome when it was applied (or changed nothing), 422 when the new configuration was
// refused (the running one stays; "errors" name file, line and option), 409 when another
// reload is running.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "hub/services.hpp"
#include "web/api_common.hpp"

namespace nbhub::web {

namespace net = boost::asio;
namespace json = boost::json;
using http::Context;
using http::Response;

namespace {

struct ConfigApi {
  std::shared_ptr<Api const> a;

  net::awaitable<Response> get(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    if (auto deny = a->need(c, {"read:config"})) co_return std::move(*deny);
    co_return a->json(200, a->d.describe_config());
  }

  net::awaitable<Response> reload(Context& ctx) const {
    auto cr = co_await a->caller(ctx);
    if (auto* r = std::get_if<Response>(&cr)) co_return std::move(*r);
    auto& c = std::get<Caller>(cr);
    if (auto deny = a->need(c, {"admin:config"})) co_return std::move(*deny);
    auto who = c.service ? "service " + c.service->name : "user " + c.user.name;
    auto outcome = co_await a->d.reload_config("API, " + who);
    auto body = config::outcome_json(outcome);
    using S = config::ReloadOutcome::Status;
    if (outcome.status == S::refused || outcome.status == S::busy) {
      unsigned const status = outcome.status == S::busy ? 409 : 422;
      // JupyterHub's error shape ({"status", "message"}) with the details beside it.
      body["status"] = status;
      body["message"] = outcome.errors.empty()
                            ? outcome.summary
                            : fmt::format("{} ({})", outcome.summary, outcome.errors.front().to_string());
      co_return a->json(status, body);
    }
    co_return a->json(200, body);
  }
};

}  // namespace

void add_config_api(http::Router& router, std::shared_ptr<Api const> api) {
  if (!api->d.describe_config || !api->d.reload_config) return;
  auto r = std::make_shared<ConfigApi const>(ConfigApi{api});
  router.get(api->route + "config", bind_api<ConfigApi, &ConfigApi::get>(r));
  router.post(api->route + "config/reload", bind_api<ConfigApi, &ConfigApi::reload>(r));
}

}  // namespace nbhub::web
