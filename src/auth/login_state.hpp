#pragma once
// The short-lived login-state cookie (DESIGN.md login step 2): state, PKCE verifier, nonce,
// provider and next URL, sealed with AES-256-GCM under a key derived from the cookie secret,
// HttpOnly and scoped to the callback path. Binding the state to this browser-held cookie
// stops login CSRF; the registry of consumed states makes each state single-use even if the
// cookie and callback URL are replayed together.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.hpp"
#include "core/random.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"

namespace nbhub::auth {

struct LoginState {
  std::string provider;
  std::string state;          // sent to the IdP, compared in constant time on return
  std::string code_verifier;  // PKCE (RFC 7636), empty when PKCE is off for the provider
  std::string nonce;          // OIDC nonce, checked in the ID token
  std::string next;           // already validated same-origin path, may be empty
  std::int64_t issued_at = 0;  // unix seconds
};

class LoginStateSealer {
 public:
  // `cookie_secret` is the hub's cookie secret; a separate key is derived from it.
  LoginStateSealer(Secret const& cookie_secret, Clock const& clock, Random& random,
                   std::chrono::seconds ttl);

  Result<std::string> seal(LoginState const& s);
  // Checks integrity, age, and that `returned_state` equals the sealed state. Marks the state
  // consumed: a second call with the same cookie fails.
  Result<LoginState> open(std::string_view cookie_value, std::string_view returned_state);

  static constexpr std::string_view kCookieName = "nbhub-oauth-state";

 private:
  std::string key_;
  Clock const& clock_;
  Random& random_;
  std::chrono::seconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, std::int64_t> consumed_;  // GUARDED_BY(mu_): state hash → expiry
};

}  // namespace nbhub::auth
