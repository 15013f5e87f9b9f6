#pragma once
// Who is calling: the hub login cookie (browsers) or an API token in the Authorization header
// (`token X` or `bearer X`, servers, services and scripts), and what scopes they hold.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <optional>
#include <string>
#include <vector>

#include "core/snapshot.hpp"
#include "http/message.hpp"
#include "hub/scopes.hpp"
#include "store/rows.hpp"

namespace nbhub::hub { class LoginService; class TokenService; class Roles; class ServiceRegistry; struct Service; }
namespace nbhub::hub { class BearerAuth; }
namespace nbhub::store { class Store; }

namespace nbhub::web {

struct Caller {
  store::UserRow user;                    // empty (id 0) for a service
  std::vector<std::string> scopes;        // expanded (hub::expand_scopes), sorted
  hub::ScopeSet scope_set;                // the same, for hub::has_scope
  // Set when a config service's token authenticated; it keeps the services snapshot it came
  // from alive, so a reload during the request changes nothing under it.
  std::shared_ptr<const hub::Service> service;
  bool via_cookie = false;
  std::string session_hash;               // cookie callers: their login session
  std::optional<store::TokenRow> token;   // token callers
};

class RequestAuth {
 public:
  RequestAuth(hub::LoginService& logins, hub::TokenService& tokens, store::Store& store,
              boost::asio::thread_pool& pool, std::string const& cookie_secret_key,
              SnapshotRef<hub::Roles> roles, SnapshotRef<hub::ServiceRegistry> services);

  // The roles and services as they are now (a reload replaces them); hold the pointer for as
  // long as the request uses them.
  std::shared_ptr<const hub::Roles> roles() const { return roles_.load(); }
  std::shared_ptr<const hub::ServiceRegistry> services() const { return services_.load(); }

  // nullopt when there are no (valid) credentials.
  boost::asio::awaitable<std::optional<Caller>> resolve(http::Context const& ctx) const;
  // Only the cookie (pages).
  boost::asio::awaitable<std::optional<Caller>> from_cookie(http::Context const& ctx) const;

  // A user's scopes now: their roles' plus those of every share to them or their groups
  // (hub/shares.hpp); one store read on the pool.
  boost::asio::awaitable<hub::ScopeSet> user_scopes(store::UserRow user) const;

  // Per-session anti-forgery value for forms and cookie-authenticated API writes
  // (JupyterHub 4.1+'s `_xsrf`).
  std::string xsrf_for(std::string const& session_hash) const;
  bool xsrf_ok(http::Context const& ctx, Caller const& c, std::string_view submitted) const;
  // For REST API handlers: why this request is refused for want of the token (JupyterHub's
  // "'_xsrf' argument missing from GET"), or nullopt. Token callers never need it; cookie
  // callers need it for every write and for reads made by scripts (CVE-2024-28233, JupyterHub
  // 5.5's _needs_check_xsrf): a fetch may come from a user's server on the hub's own origin,
  // while page views, WebSockets and clients without fetch metadata (curl) are not scripts.
  // `_xsrf` in the query, X-XSRFToken or X-CSRFToken carry it.
  std::optional<std::string> xsrf_refusal(http::Context const& ctx, Caller const& c) const;

  // JWT access tokens of configured providers (hub/bearer_auth.hpp); set once at startup.
  void set_bearer(hub::BearerAuth* bearer) { bearer_ = bearer; }
  // After resolve() found no caller: why a bearer JWT in the request was refused ("The bearer
  // access token has expired ..."), for the error answer; "" when there is nothing to explain.
  boost::asio::awaitable<std::string> refusal(http::Context const& ctx) const;
  // After resolve() found no caller for a request that carried credentials: whether the
  // store is out of reach, so that the answer is 503 ("try again") and not 403 (a server
  // told "no such token" would cache that; docs/replicas.md, a replica cut off from the
  // database). One query, on this error path only.
  boost::asio::awaitable<bool> store_out_of_reach(http::Context const& ctx) const;

 private:
  // request_auth_bearer.cpp: the caller a validated bearer JWT stands for.
  boost::asio::awaitable<std::optional<Caller>> from_bearer(std::string raw) const;
  hub::BearerAuth* bearer_ = nullptr;

  hub::LoginService& logins_;
  hub::TokenService& tokens_;
  store::Store& store_;
  boost::asio::thread_pool& pool_;
  std::string xsrf_key_;
  SnapshotRef<hub::Roles> roles_;
  SnapshotRef<hub::ServiceRegistry> services_;
};

// Sets scope_set and scopes together.
void set_scopes(Caller& c, hub::ScopeSet s);

}  // namespace nbhub::web
