#pragma once
// What happens after the IdP vouched for someone (DESIGN.md login step 3, second half): the
// allow/block/admin decision, the user row with groups and encrypted auth_state, and the
// hub session behind the login cookie. Also resolves and ends sessions.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "auth/login_flow.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "core/result.hpp"
#include "core/snapshot.hpp"
#include "store/rows.hpp"

namespace spdlog { class logger; }
namespace nbhub::store { class Store; class CryptKeeper; }

namespace nbhub::hub {

struct SignedIn {
  store::UserRow user;
  bool created = false;
  std::string session_token;  // raw value for the login cookie; only its hash is stored
};

struct EndedSession {
  std::string provider;
  std::string id_token;  // for id_token_hint; empty when unknown
};

class LoginService {
 public:
  // `crypt` may be null (no key configured): auth_state is then not stored. `cfg` is read
  // once per sign-in: a reload applies to sign-ins that start after it.
  LoginService(SnapshotRef<config::AuthConfig> cfg, store::Store& store, store::CryptKeeper const* crypt,
               Clock const& clock, Random& random, boost::asio::thread_pool& pool,
               spdlog::logger& log);

  // Errors: forbidden (not allowed: message is custom_403_message), unavailable (store).
  boost::asio::awaitable<Result<SignedIn>> sign_in(auth::Identity id);
  // not_found/unauthorized when the token is unknown or expired.
  boost::asio::awaitable<Result<store::UserRow>> user_for_session(std::string token);
  boost::asio::awaitable<EndedSession> sign_out(std::string token);

  static constexpr std::string_view kCookieName = "nbhub-hub-login";

  // jupyterhub_config.py's OAuthenticator.modify_auth_state_hook and
  // Authenticator.post_auth_hook (hub/python_hooks.hpp), after the allow decision:
  // called with JupyterHub's authentication dict {"name", "admin" (null: unchanged), "groups",
  // "auth_state"} and the provider's name; answers the dict as the hooks left it, or nullopt
  // when post_auth_hook returned None (the sign-in is refused, 403). An error fails the sign-in
  // with its message. Set once, before the first sign-in.
  using AuthHook = std::function<boost::asio::awaitable<Result<std::optional<boost::json::object>>>(
      boost::json::object authentication, std::string provider)>;
  void set_auth_hook(AuthHook hook) { auth_hook_ = std::move(hook); }

 private:
  SnapshotRef<config::AuthConfig> cfg_;
  store::Store& store_;
  store::CryptKeeper const* crypt_;
  Clock const& clock_;
  Random& random_;
  boost::asio::thread_pool& pool_;
  spdlog::logger& log_;
  AuthHook auth_hook_;
};

std::string session_id_hash(std::string_view token);

}  // namespace nbhub::hub
