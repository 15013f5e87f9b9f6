// RequestAuth's bearer-JWT path (issue 6 part 3), kept apart from request_auth.cpp so the
// token and cookie paths stay readable.
#include <spdlog/spdlog.h>

#include "hub/bearer_auth.hpp"
#include "hub/blocking.hpp"
#include "hub/roles.hpp"
#include "hub/services.hpp"
#include "hub/tokens.hpp"
#include "store/store.hpp"
#include "web/request_auth.hpp"

namespace nbhub::web {

namespace net = boost::asio;

namespace {
// Bearer services not declared in `services` still need a stable Service to point at.
std::shared_ptr<const hub::Service> bearer_service(std::shared_ptr<const hub::ServiceRegistry> const& registry,
                                                   std::string const& name) {
  if (auto const* s = registry->find(name)) return std::shared_ptr<const hub::Service>(registry, s);
  static std::mutex mu;
  static std::map<std::string, hub::Service> extra;  // never shrinks: one entry per config name
  std::lock_guard lock(mu);
  auto [it, fresh] = extra.try_emplace(name);
  if (fresh) it->second.name = name;
  return std::shared_ptr<const hub::Service>(std::shared_ptr<const hub::Service>{}, &it->second);
}
}  // namespace

net::awaitable<std::optional<Caller>> RequestAuth::from_bearer(std::string raw) const {
  auto p = co_await bearer_->authenticate(std::move(raw));
  if (!p) co_return std::nullopt;  // the reason was logged by BearerAuth
  if (p->service) {
    Caller c{.service = bearer_service(services_.load(), *p->service)};
    auto scopes = roles_.load()->service_scopes(c.service->name, c.service->admin);
    auto mapped = hub::expand_scopes(p->scopes, hub::ScopeOwner{hub::ScopeOwner::Kind::service, c.service->name, std::nullopt});
    scopes.insert(mapped.begin(), mapped.end());
    set_scopes(c, std::move(scopes));
    co_return c;
  }
  // A user's own access token acts as that user, with their role scopes (as the cookie).
  auto work = [this, name = *p->user]() { return store_.get_user(name); };
  auto user = co_await hub::run_blocking(pool_, std::move(work));
  if (!user) {
    bearer_->log().info("bearer token of '{}' refused: {}", *p->user,
                 user.error().code == Errc::not_found ? "no such hub user" : user.error().message);
    co_return std::nullopt;
  }
  Caller c{.user = std::move(*user)};
  auto scopes = co_await user_scopes(c.user);
  set_scopes(c, std::move(scopes));
  co_return c;
}

net::awaitable<std::string> RequestAuth::refusal(http::Context const& ctx) const {
  auto raw = hub::TokenService::from_authorization(ctx.header("Authorization"));
  if (!bearer_ || !hub::BearerAuth::looks_like_jwt(raw) || !bearer_->enabled()) co_return std::string{};
  // Refusals are not cached, so this validates again: local work only (the JWKS is cached and
  // its refetch rate-limited), paid on the error path alone.
  auto p = co_await bearer_->authenticate(std::move(raw));
  if (!p) co_return p.error().message;
  if (p->user) co_return "The bearer token names the user '" + *p->user + "', who does not exist on this hub.";
  co_return std::string{};
}

}  // namespace nbhub::web
