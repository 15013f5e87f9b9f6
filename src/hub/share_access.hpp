#pragma once
// Makes a revoked share take effect on the next request at the server too (docs/sharing.md).
// The hub reads shares per request, but a jupyterhub-singleuser server caches the hub's answer
// about a token (HubAuth cache_max_age, 300 s by default). So when a change leaves a user
// without access:servers on a server, their tokens are denied at the proxy for `deny_for`
// (proxy/access_gate.hpp) and the OAuth tokens they got for that server are deleted; a new
// grant lifts the denial.
//
// Blocking (store reads): call on the pool. Thread-safe.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "hub/scopes.hpp"
#include "store/rows.hpp"

namespace spdlog { class logger; }
namespace nbhub::store { class Store; }
namespace nbhub::proxy { class AccessGate; }

namespace nbhub::hub {

class ShareAccess {
 public:
  using RoleScopes = std::function<ScopeSet(store::UserRow const&)>;
  // `prefix_for(owner, server)`: the server's URL prefix ("/user/alice/"), encoded.
  ShareAccess(store::Store& store, proxy::AccessGate& gate, Clock const& clock, RoleScopes role_scopes,
              std::function<std::string(std::string const&, std::string const&)> prefix_for,
              std::chrono::seconds deny_for, spdlog::logger& log);

  // The users the shares of owner/server reach now: those shared with, and the members of the
  // groups shared with. Taken before a change, handed to after_revoke after it.
  std::vector<std::int64_t> reached(std::int64_t owner_id, std::string const& server);
  // Each of `users` left without access to owner/server is denied at the proxy.
  void after_revoke(std::string const& owner, std::string const& server, std::vector<std::int64_t> const& users);
  // `users` were granted access to owner/server: denials from an earlier revocation end.
  void after_grant(std::string const& owner, std::string const& server, std::vector<std::int64_t> const& users);
  // The users a share target stands for (a user, or a group's members).
  std::vector<std::int64_t> users_of(store::ShareTarget target);

 private:
  store::Store& store_;
  proxy::AccessGate& gate_;
  Clock const& clock_;
  RoleScopes role_scopes_;
  std::function<std::string(std::string const&, std::string const&)> prefix_for_;
  std::chrono::seconds deny_for_;
  spdlog::logger& log_;
};

}  // namespace nbhub::hub
