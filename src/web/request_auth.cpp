#include "web/request_auth.hpp"

#include <fmt/format.h>

#include "core/crypto.hpp"
#include "hub/bearer_auth.hpp"
#include "hub/blocking.hpp"
#include "hub/login_service.hpp"
#include "hub/roles.hpp"
#include "hub/scopes.hpp"
#include "hub/services.hpp"
#include "hub/shares.hpp"
#include "hub/tokens.hpp"
#include "store/store.hpp"

namespace nbhub::web {

namespace net = boost::asio;

RequestAuth::RequestAuth(hub::LoginService& logins, hub::TokenService& tokens, store::Store& store,
                         net::thread_pool& pool, std::string const& cookie_secret_key,
                         SnapshotRef<hub::Roles> roles, SnapshotRef<hub::ServiceRegistry> services)
    : logins_(logins), tokens_(tokens), store_(store), pool_(pool),
      xsrf_key_(crypto::hmac_sha256(cookie_secret_key, "nbhub xsrf v1")), roles_(std::move(roles)), services_(std::move(services)) {}

void set_scopes(Caller& c, hub::ScopeSet s) {
  c.scopes.assign(s.begin(), s.end());
  c.scope_set = std::move(s);
}

net::awaitable<std::optional<Caller>> RequestAuth::from_cookie(http::Context const& ctx) const {
  auto cookie = ctx.cookie(hub::LoginService::kCookieName);
  if (!cookie || cookie->empty()) co_return std::nullopt;
  auto user = co_await logins_.user_for_session(*cookie);
  if (!user) co_return std::nullopt;
  Caller c{.user = std::move(*user), .via_cookie = true, .session_hash = hub::session_id_hash(*cookie)};
  auto scopes = co_await user_scopes(c.user);
  set_scopes(c, std::move(scopes));
  co_return c;
}

net::awaitable<std::optional<Caller>> RequestAuth::resolve(http::Context const& ctx) const {
  auto raw = hub::TokenService::from_authorization(ctx.header("Authorization"));
  if (raw.empty()) {
    auto c = co_await from_cookie(ctx);
    co_return c;
  }
  if (bearer_ && hub::BearerAuth::looks_like_jwt(raw) && bearer_->enabled()) {  // hub tokens never contain '.'
    auto c = co_await from_bearer(std::move(raw));
    co_return c;
  }
  auto const services = services_.load();
  if (auto const* svc = services->by_token(raw)) {
    Caller c{.service = std::shared_ptr<const hub::Service>(services, svc)};
    set_scopes(c, roles_.load()->service_scopes(svc->name, svc->admin));
    co_return c;
  }
  auto token = co_await tokens_.resolve(raw);
  if (!token || !token->user_id) co_return std::nullopt;
  // The owner and their scopes now (role or group changes apply to existing tokens at once);
  // `!group=` filters need memberships from the store, so this runs on the pool.
  auto work = [this, t = *token, roles = roles_.load()]() -> Result<Caller> {
    auto user = store_.get_user_by_id(*t.user_id);
    if (!user) return user.error();
    // Shares count for the owner's scopes (JupyterHub's get_scopes_for on a token).
    auto owner_scopes = hub::with_shared_scopes(roles->user_scopes(*user), *user, store_);
    auto groups_of = [this, &user](std::string const& name) -> std::vector<std::string> {
      if (name == user->name) return user->groups;
      auto u = store_.get_user(name);
      return u ? u->groups : std::vector<std::string>{};
    };
    auto scopes = roles->token_scopes(t, hub::ScopeOwner{hub::ScopeOwner::Kind::user, user->name, std::nullopt},
                                      owner_scopes, groups_of);
    Caller c{.user = std::move(*user), .token = t};
    set_scopes(c, std::move(scopes));
    return c;
  };
  auto c = co_await hub::run_blocking(pool_, std::move(work));
  if (!c) co_return std::nullopt;
  co_return std::move(*c);
}

net::awaitable<hub::ScopeSet> RequestAuth::user_scopes(store::UserRow user) const {
  auto work = [this, u = std::move(user), roles = roles_.load()]() { return hub::with_shared_scopes(roles->user_scopes(u), u, store_); };
  auto out = co_await hub::run_blocking(pool_, std::move(work));
  co_return out;
}

net::awaitable<bool> RequestAuth::store_out_of_reach(http::Context const& ctx) const {
  auto const cookie = ctx.cookie(hub::LoginService::kCookieName);
  if (hub::TokenService::from_authorization(ctx.header("Authorization")).empty() && (!cookie || cookie->empty()))
    co_return false;
  auto ask = [this] { return store_.schema_version(); };
  auto answered = co_await hub::run_blocking(pool_, std::move(ask));
  co_return !answered;
}

std::string RequestAuth::xsrf_for(std::string const& session_hash) const {
  return crypto::base64url_encode(crypto::hmac_sha256(xsrf_key_, session_hash)).substr(0, 32);
}

bool RequestAuth::xsrf_ok(http::Context const& ctx, Caller const& c, std::string_view submitted) const {
  if (!c.via_cookie) return true;  // token callers are not exposed to cross-site forgery
  std::string value(submitted);
  if (value.empty()) value = ctx.header("X-XSRFToken");
  if (value.empty()) value = ctx.header("X-CSRFToken");
  return crypto::equal_ct(crypto::sha256(value), crypto::sha256(xsrf_for(c.session_hash)));
}

namespace {

bool script_or_write(http::Context const& ctx) {
  auto const method = ctx.req.method();
  bool const read_only = method == http::bhttp::verb::get || method == http::bhttp::verb::head ||
                         method == http::bhttp::verb::options;
  if (!read_only) return true;
  auto const mode = ctx.header("Sec-Fetch-Mode");
  if (mode.empty() || mode == "navigate" || mode == "websocket") return false;
  // Same-origin no-cors GETs are images and the like: the page never sees their content.
  return !(mode == "no-cors" && ctx.header("Sec-Fetch-Site") == "same-origin");
}

}  // namespace

std::optional<std::string> RequestAuth::xsrf_refusal(http::Context const& ctx, Caller const& c) const {
  if (!c.via_cookie || !script_or_write(ctx)) return std::nullopt;
  auto submitted = ctx.query_param("_xsrf").value_or("");
  if (xsrf_ok(ctx, c, submitted)) return std::nullopt;
  auto const method = std::string_view(ctx.req.method_string());
  bool const given = !submitted.empty() || !ctx.header("X-XSRFToken").empty() || !ctx.header("X-CSRFToken").empty();
  return given ? fmt::format("XSRF cookie does not match {} argument", method)
               : fmt::format("'_xsrf' argument missing from {}", method);
}

}  // namespace nbhub::web
