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

  // jupyterhub_config.py's OAuthenticator.modify_auth_state_hook, the authenticator's
  // check_blocked_users and check_allowed, and Authenticator.post_auth_hook
  // (hub/python_hooks.hpp), in JupyterHub's order: called with JupyterHub's authentication dict
  // {"name", "admin" (null: unchanged), "groups", "auth_state"}, the provider's name and nbhub's
  // own allow verdict (what the base classes' checks answer); answers the dict as the hooks
  // left it, or no dict and the check that refused (403). An error fails the sign-in with its
  // message. Set once, before the first sign-in; with `decides_access` (the configuration
  // defines an allow check) users nbhub's rules refuse are asked about too.
  struct AuthHookCall {
    boost::json::object authentication;
    std::string provider;
    bool blocked = false;  // nbhub's verdict: in blocked_users
    bool allowed = true;   // nbhub's verdict: an allow rule matched
  };
  struct AuthHookAnswer {
    std::optional<boost::json::object> authentication;  // nullopt: refused
    std::string refused_by;  // "check_blocked_users", "check_allowed" or "post_auth_hook"
  };
  using AuthHook = std::function<boost::asio::awaitable<Result<AuthHookAnswer>>(AuthHookCall call)>;
  void set_auth_hook(AuthHook hook, bool decides_access) {
    auth_hook_ = std::move(hook);
    hook_decides_access_ = decides_access;
  }

 private:
  SnapshotRef<config::AuthConfig> cfg_;
  store::Store& store_;
  store::CryptKeeper const* crypt_;
  Clock const& clock_;
  Random& random_;
  boost::asio::thread_pool& pool_;
  spdlog::logger& log_;
  AuthHook auth_hook_;
  bool hook_decides_access_ = false;
};

std::string session_id_hash(std::string_view token);

}  // namespace nbhub::hub
