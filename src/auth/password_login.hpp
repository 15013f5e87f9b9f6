#pragma once
// Sign-in with a username and password typed on the hub's own login page: JupyterHub's
// DummyAuthenticator (a provider of kind = "dummy"), for tests, demos and tools' test suites,
// and its SharedPasswordAuthenticator (kind = "shared-password"), for workshops.
// Dummy: any username is accepted; with the provider's `password` set, every user must give
// that password. Shared-password: users in auth.admin_users must give `admin_password` and
// become admins; everyone else gives `user_password` and is never made admin by it; the allow
// rules then apply as for any authenticator. Passwords are compared in constant time. Protocol only, like LoginFlow: it knows nothing of
// handlers or the store, and the hub layer decides who may sign in (auth::decide).
//
// Login CSRF: the form carries `_xsrf`, a random value that is also sealed into a short-lived
// HttpOnly cookie by the LoginStateSealer (the sealing, expiry and single-use registry of the
// OAuth state). A POST must bring both (double submit), so another site cannot sign a browser
// in under a name of its choosing.
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/login_flow.hpp"
#include "auth/login_state.hpp"
#include "config/config.hpp"
#include "core/result.hpp"
#include "core/snapshot.hpp"

namespace spdlog { class logger; }

namespace nbhub::auth {

struct FormTicket {
  std::string xsrf;    // the form's hidden `_xsrf`
  std::string cookie;  // value for PasswordLogin::kCookieName
};

class PasswordLogin {
 public:
  using Providers = std::vector<config::ProviderConfig>;

  // `providers`: those whose sign_in_of() is password_form. References must outlive this.
  // A reload replaces them (set_providers) and `auth`; each form submission reads both once.
  PasswordLogin(Providers providers, SnapshotRef<config::AuthConfig> auth,
                LoginStateSealer& sealer, Clock const& clock, Random& random,
                spdlog::logger& log);

  std::shared_ptr<const Providers> providers() const { return providers_.load(); }
  void set_providers(Providers next) { providers_.store(std::move(next)); }

  // A ticket for one submission of the form; `next` must already have passed
  // validate_next_url (or be empty). Errors: internal (randomness or sealing failed).
  Result<FormTicket> begin(std::string const& next);

  // The POSTed form (username, password, _xsrf, and provider when there are several) and the
  // ticket cookie. Returns who signed in and the `next` given to begin(). Errors:
  //   forbidden: the ticket is missing, forged, expired or used (the form must be reloaded);
  //   unauthorized: wrong password, or a username that cannot be a hub user; the message is
  //     for the login form ("Invalid username or password.");
  //   bad_request: the form names no provider (or an unknown one) where one is needed.
  // The reason is logged here, never the password.
  Result<std::pair<Identity, std::string>> complete(
      std::multimap<std::string, std::string> const& form, std::string_view cookie);

  static constexpr std::string_view kCookieName = "nbhub-login-form";

 private:
  Result<std::pair<Identity, std::string>> shared_password(config::ProviderConfig const& p,
                                                           std::string const& raw,
                                                           std::string const& password,
                                                           std::string const& next);
  Snapshot<Providers> providers_;
  SnapshotRef<config::AuthConfig> auth_;
  LoginStateSealer& sealer_;
  Clock const& clock_;
  Random& random_;
  spdlog::logger& log_;
};

}  // namespace nbhub::auth
