#pragma once
// The OAuth2 authorization-code flow with PKCE and OIDC ID-token validation, for any number
// of providers (DESIGN.md "A login, end to end", steps 2-3). Protocol only: it knows nothing
// of handlers, cookies' transport or the store. The hub layer decides who may sign in.
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/login_state.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "core/result.hpp"
#include "core/snapshot.hpp"
#include "http/client.hpp"

namespace spdlog { class logger; }
namespace nbhub::jwt { class JwksCache; }

namespace nbhub::auth {

// What the IdP told us about the person, before the allow/admin decision.
struct Identity {
  std::string provider;
  std::string username;              // normalized
  std::vector<std::string> groups;   // from groups_claim (may be empty)
  boost::json::object claims;        // merged ID-token + userinfo claims
  boost::json::object auth_state;    // OAuthenticator's keys: access_token, refresh_token,
                                     // id_token, scope, token_response, oauth_user
  std::string id_token;              // raw, for RP-initiated logout (id_token_hint)
  // The authenticator allows everyone unless allowed_users is set (JupyterHub 5's
  // DummyAuthenticator default for allow_all); false for every identity provider.
  bool allow_all_by_default = false;
  // The authenticator's own word on admin, which wins over the allow/admin rules' (JupyterHub
  // applies an authenticator's returned `admin`): SharedPasswordAuthenticator returns true for
  // a sign-in with the admin password and false for one with the user password. nullopt: the
  // rules decide (every identity provider).
  std::optional<bool> admin;
  // Why the provider's own rules allow this user (CILogon's per-IdP allow_all or
  // allowed_domains, auth/cilogon.hpp), or "".
  std::string allowed_by;
};

struct LoginRedirect {
  std::string location;      // the IdP's authorize URL
  std::string state_cookie;  // value for LoginStateSealer::kCookieName
};

class LoginFlow {
 public:
  using Providers = std::vector<config::ProviderConfig>;

  // Providers must already have their presets applied (and discovery done for oidc). `auth`
  // and the providers are read once per step (begin, complete), so a reload never changes a
  // step half-way; a login begun with a provider that a reload removed fails cleanly in
  // complete() ("no longer exists").
  LoginFlow(Providers providers, SnapshotRef<config::AuthConfig> auth,
            http::HttpClient& http, jwt::JwksCache& jwks, Clock const& clock, Random& random,
            LoginStateSealer& sealer, spdlog::logger& log);
  ~LoginFlow();

  std::shared_ptr<const Providers> providers() const { return providers_.load(); }
  // The providers as they are now, for parts that follow them (TokenRefresher, BearerAuth).
  Snapshot<Providers> const& provider_snapshot() const { return providers_; }
  // A reload: later steps use `next` (already resolved: presets, discovery). Issuers learned
  // on first use are forgotten for providers that are gone or whose endpoints or client
  // changed.
  void set_providers(Providers next);
  // The provider called `name` in the current set; the pointer keeps that set alive.
  std::shared_ptr<const config::ProviderConfig> find(std::string_view name) const;

  // `redirect_uri` is the callback URL for this request (the provider's oauth_callback_url
  // wins when set). `next` must already have passed validate_next_url (or be empty).
  Result<LoginRedirect> begin(std::string const& provider, std::string const& next,
                              std::string const& default_redirect_uri);

  // The callback: `query` holds code/state/error from the IdP; `state_cookie` is the cookie
  // set by begin(). Errors carry a message for the user; the reason is logged here.
  // Error set: bad_request (state/cookie problems, IdP `error=`), unauthorized (token
  // validation), forbidden (username unusable), unavailable (IdP down, timeout),
  // bad_gateway (malformed IdP answers).
  boost::asio::awaitable<Result<std::pair<Identity, std::string /*next*/>>> complete(
      std::multimap<std::string, std::string> query, std::string state_cookie,
      std::string default_redirect_uri);

  // jupyterhub_config.py's callable username_claim (OAuthenticator 16; hub/python_hooks.hpp):
  // for provider `provider`, the username comes from calling it with the merged claims
  // instead of from the claim named username_claim. An error fails the login (forbidden, its
  // message). Set once, before the first login.
  using UsernameHook = std::function<boost::asio::awaitable<Result<std::string>>(boost::json::object claims)>;
  void set_username_hook(std::string provider, UsernameHook hook) {
    username_hook_provider_ = std::move(provider);
    username_hook_ = std::move(hook);
  }

  // RP-initiated logout URL for a provider (OIDC end_session with id_token_hint, Cognito's
  // /logout?client_id&logout_uri, or the static logout_redirect_url), or "" for none.
  std::string logout_url(std::string const& provider, std::string const& id_token,
                         std::string const& post_logout_url) const;

 private:
  boost::asio::awaitable<Result<boost::json::object>> exchange_code(
      config::ProviderConfig const& p, std::string code, std::string redirect_uri,
      std::string verifier);
  boost::asio::awaitable<Result<boost::json::object>> validate_id_token(
      config::ProviderConfig const& p, std::string id_token, std::string nonce);
  boost::asio::awaitable<Result<boost::json::object>> fetch_userinfo(
      config::ProviderConfig const& p, std::string access_token, std::string token_type);
  boost::asio::awaitable<Result<std::string>> learn_issuer(config::ProviderConfig const& p,
                                                           std::string id_token);
  std::string redirect_uri_for(config::ProviderConfig const& p, std::string const& dflt) const;

  Snapshot<Providers> providers_;
  SnapshotRef<config::AuthConfig> auth_;
  http::HttpClient& http_;
  jwt::JwksCache& jwks_;
  Clock const& clock_;
  Random& random_;
  LoginStateSealer& sealer_;
  spdlog::logger& log_;
  std::string username_hook_provider_;
  UsernameHook username_hook_;
  struct Learned;
  std::unique_ptr<Learned> learned_;  // issuers pinned for providers configured without one
};

}  // namespace nbhub::auth
