#pragma once
// nbhub as OAuth2 provider for single-user servers and services (spec/jupyterhub-contract.md §3):
// authorization-code grant only, codes single-use for 300 s, redirect_uri compared as a plain
// string (RFC 6749 §3.1.2.3; relative URIs allowed, as JupyterHub does), the client secret is
// the server's API token, no refresh tokens.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "core/clock.hpp"
#include "core/random.hpp"
#include "core/result.hpp"
#include "store/rows.hpp"

namespace spdlog { class logger; }
namespace nbhub::store { class Store; }

namespace nbhub::hub {

class TokenService;

struct OAuthReply {
  unsigned status = 200;
  boost::json::object body;  // token response or {"error", "error_description"}
};

class OAuthProvider {
 public:
  OAuthProvider(store::Store& store, TokenService& tokens, Clock const& clock, Random& random,
                boost::asio::thread_pool& pool, std::chrono::seconds token_lifetime,
                bool admin_access, spdlog::logger& log);

  // GET /hub/api/oauth2/authorize for a signed-in user. Returns the Location to send the
  // browser to. Errors (shown as a page, never redirected, for unknown clients and redirect
  // mismatches): bad_request, forbidden ("You do not have permission to access Server at ...").
  boost::asio::awaitable<Result<std::string>> authorize(store::UserRow user, std::string session_hash,
                                                        std::multimap<std::string, std::string> query);

  // POST /hub/api/oauth2/token. `form` is the decoded body; `authorization` the header, for
  // clients that authenticate with HTTP Basic.
  boost::asio::awaitable<OAuthReply> token(std::multimap<std::string, std::string> form,
                                           std::string authorization);

  static constexpr std::chrono::seconds kCodeLifetime{300};

  // Who may authorize a client that is not one of their own servers (spec §3.3): by default
  // admins when admin_access is on; the hub sets a roles-based check (access:servers /
  // access:services scopes). Called on the blocking pool; must be thread-safe.
  using AccessCheck = std::function<bool(store::UserRow const&, store::OAuthClientRow const&)>;
  void set_access_check(AccessCheck check) { access_check_ = std::move(check); }

 private:
  store::Store& store_;
  TokenService& tokens_;
  Clock const& clock_;
  Random& random_;
  boost::asio::thread_pool& pool_;
  std::chrono::seconds token_lifetime_;
  bool admin_access_;
  spdlog::logger& log_;
  AccessCheck access_check_;
};

}  // namespace nbhub::hub
