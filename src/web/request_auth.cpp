#include "web/request_auth.hpp"

#include "core/crypto.hpp"
#include "hub/blocking.hpp"
#include "hub/login_service.hpp"
#include "hub/scopes.hpp"
#include "hub/tokens.hpp"
#include "store/store.hpp"

namespace nbhub::web {

namespace net = boost::asio;

RequestAuth::RequestAuth(hub::LoginService& logins, hub::TokenService& tokens, store::Store& store,
                         net::thread_pool& pool, std::string const& cookie_secret_key)
    : logins_(logins), tokens_(tokens), store_(store), pool_(pool),
      xsrf_key_(crypto::hmac_sha256(cookie_secret_key, "nbhub xsrf v1")) {}

net::awaitable<std::optional<Caller>> RequestAuth::from_cookie(http::Context const& ctx) const {
  auto cookie = ctx.cookie(hub::LoginService::kCookieName);
  if (!cookie || cookie->empty()) co_return std::nullopt;
  auto user = co_await logins_.user_for_session(*cookie);
  if (!user) co_return std::nullopt;
  Caller c{.user = std::move(*user), .via_cookie = true, .session_hash = hub::session_id_hash(*cookie)};
  c.scopes = hub::user_scopes(c.user.name, c.user.admin);
  co_return c;
}

net::awaitable<std::optional<Caller>> RequestAuth::resolve(http::Context const& ctx) const {
  auto raw = hub::TokenService::from_authorization(ctx.header("Authorization"));
  if (raw.empty()) {
    auto c = co_await from_cookie(ctx);
    co_return c;
  }
  auto token = co_await tokens_.resolve(raw);
  if (!token || !token->user_id) co_return std::nullopt;  // service tokens come with the REST API
  auto uid = *token->user_id;
  auto work = [this, uid]() { return store_.get_user_by_id(uid); };
  auto user = co_await hub::run_blocking(pool_, std::move(work));
  if (!user) co_return std::nullopt;
  Caller c{.user = std::move(*user), .scopes = token->scopes, .token = std::move(*token)};
  co_return c;
}

std::string RequestAuth::xsrf_for(std::string const& session_hash) const {
  return crypto::base64url_encode(crypto::hmac_sha256(xsrf_key_, session_hash)).substr(0, 32);
}

bool RequestAuth::xsrf_ok(http::Context const& ctx, Caller const& c, std::string_view submitted) const {
  if (!c.via_cookie) return true;  // token callers are not exposed to cross-site forgery
  std::string value(submitted);
  if (value.empty()) value = ctx.header("X-XSRFToken");
  return crypto::equal_ct(crypto::sha256(value), crypto::sha256(xsrf_for(c.session_hash)));
}

}  // namespace nbhub::web
