#include "hub/login_service.hpp"

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "auth/policy.hpp"
#include "core/crypto.hpp"
#include "hub/blocking.hpp"
#include "store/crypt_keeper.hpp"
#include "store/store.hpp"

namespace nbhub::hub {

namespace net = boost::asio;

std::string session_id_hash(std::string_view token) {
  return crypto::hex_encode(crypto::sha256(token));
}

LoginService::LoginService(SnapshotRef<config::AuthConfig> cfg, store::Store& store,
                           store::CryptKeeper const* crypt, Clock const& clock, Random& random,
                           net::thread_pool& pool, spdlog::logger& log)
    : cfg_(std::move(cfg)), store_(store), crypt_(crypt), clock_(clock), random_(random), pool_(pool), log_(log) {}

net::awaitable<Result<SignedIn>> LoginService::sign_in(auth::Identity id) {
  auto token = random_.token(32);
  if (!token) co_return Error{Errc::internal, "The system random generator failed."};
  auto const cfg = cfg_.load();
  auto decide = [&]() -> Result<auth::Decision> {
    auto exists = store_.user_exists(id.username);
    if (!exists) return exists.error();
    auto decision = auth::decide(*cfg, id.username, id.groups, *exists, id.allow_all_by_default,
                                 id.allowed_by);
    if (!decision.allowed && !(auth_hook_ && hook_decides_access_)) {
      log_.warn("login refused for '{}' via {}: {}", id.username, id.provider, decision.reason);
      return Error{Errc::forbidden, cfg->custom_403_message};
    }
    if (id.admin) decision.admin = id.admin;
    return decision;
  };
  auto write = [&](auth::Decision const& decision) -> Result<SignedIn> {
    store::LoginUpdate up{.name = id.username, .admin = decision.admin};
    if (cfg->manage_groups) up.groups = id.groups;
    std::optional<std::string> id_token_sealed;
    if (cfg->enable_auth_state && crypt_ && crypt_->enabled()) {
      auto sealed = crypt_->encrypt(id.auth_state, id.username, store::CryptPurpose::auth_state);
      if (!sealed) return sealed.error();
      up.encrypted_auth_state = *sealed;
    }
    if (crypt_ && crypt_->enabled() && !id.id_token.empty()) {
      auto sealed = crypt_->encrypt(boost::json::value(id.id_token), id.username, store::CryptPurpose::id_token_hint);
      if (sealed) id_token_sealed = *sealed;
    }
    auto now = clock_.now();
    // One transaction (one commit, one fsync) writes the user and the session.
    up.session = store::SessionRow{.id_hash = session_id_hash(*token), .provider = id.provider,
                                   .created = now, .expires = now + cfg->cookie_max_age,
                                   .last_seen = now, .id_token_hint_encrypted = id_token_sealed};
    auto user = store_.upsert_user_on_login(up);
    if (!user) return user.error();
    log_.info("login: '{}' signed in via {} ({}{})", id.username, id.provider, decision.reason,
              user->created ? ", new user" : "");
    return SignedIn{std::move(user->user), user->created, *token};
  };
  if (!auth_hook_) {
    // No hooks: one trip to the store's threads decides and writes.
    auto work = [&]() -> Result<SignedIn> {
      auto decision = decide();
      if (!decision) return decision.error();
      return write(*decision);
    };
    auto out = co_await run_blocking(pool_, std::move(work));
    co_return out;
  }
  auto decided = co_await run_blocking(pool_, std::move(decide));
  if (!decided) co_return decided.error();
  auto decision = std::move(*decided);
  // JupyterHub's order: the allow checks, then modify_auth_state_hook and post_auth_hook,
  // which may rename the user, make them admin, change auth_state or refuse (None).
  boost::json::array groups;
  for (auto const& g : id.groups) groups.emplace_back(g);
  boost::json::object authentication{{"name", id.username}, {"groups", std::move(groups)}, {"auth_state", id.auth_state}};
  authentication["admin"] = decision.admin ? boost::json::value(*decision.admin) : boost::json::value(nullptr);
  LoginService::AuthHookCall call{.authentication = std::move(authentication), .provider = id.provider,
                                  .blocked = decision.reason == "blocked_users", .allowed = decision.allowed};
  auto changed = co_await auth_hook_(std::move(call));
  if (!changed) {
    log_.warn("login of '{}' via {} failed in a Python hook: {}", id.username, id.provider, changed.error().message);
    co_return Error{Errc::internal, "Sign-in failed in the hub's configuration: " + changed.error().message};
  }
  if (!changed->authentication) {
    log_.warn("login refused for '{}' via {}: {} returned {}", id.username, id.provider, changed->refused_by,
              changed->refused_by == "post_auth_hook" ? "None" : "False");
    co_return Error{Errc::forbidden, cfg->custom_403_message};
  }
  if (!decision.allowed) decision.reason = "the configuration's check_allowed";
  auto const& a = *changed->authentication;
  if (auto const* n = a.if_contains("name"); n && n->is_string() && !n->as_string().empty()) id.username = std::string(n->as_string());
  if (auto const* adm = a.if_contains("admin"); adm && adm->is_bool()) decision.admin = adm->as_bool();
  if (auto const* st = a.if_contains("auth_state"); st && st->is_object()) id.auth_state = st->as_object();
  if (auto const* g = a.if_contains("groups"); g && g->is_array()) {
    id.groups.clear();
    for (auto const& x : g->as_array())
      if (x.is_string()) id.groups.emplace_back(x.as_string());
  }
  auto work = [&]() { return write(decision); };
  auto out = co_await run_blocking(pool_, std::move(work));
  co_return out;
}

net::awaitable<Result<store::UserRow>> LoginService::user_for_session(std::string token) {
  auto work = [&]() -> Result<store::UserRow> {
    auto s = store_.get_session(session_id_hash(token));
    if (!s) return s.error();
    return store_.get_user_by_id(s->user_id);
  };
  auto out = co_await run_blocking(pool_, std::move(work));
  co_return out;
}

net::awaitable<EndedSession> LoginService::sign_out(std::string token) {
  auto work = [&]() -> EndedSession {
    EndedSession out;
    auto hash = session_id_hash(token);
    auto s = store_.get_session(hash);
    if (!s) return out;
    out.provider = s->provider;
    if (s->id_token_hint_encrypted && crypt_ && crypt_->enabled()) {
      auto user = store_.get_user_by_id(s->user_id);
      if (user) {
        auto v = crypt_->decrypt(*s->id_token_hint_encrypted, user->name, store::CryptPurpose::id_token_hint);
        if (v && v->value.is_string()) out.id_token = std::string(v->value.get_string());
      }
    }
    if (auto r = store_.delete_session(hash); !r)
      log_.warn("logout: could not delete the session: {}", r.error().message);
    return out;
  };
  auto out = co_await run_blocking(pool_, std::move(work));
  co_return out;
}

}  // namespace nbhub::hub
