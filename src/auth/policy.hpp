#pragma once
// Who may sign in and who is an admin: JupyterHub + OAuthenticator 17 semantics, deny by
// default (spec/auth.md §1.8). Allow rules only grant; blocked_users always refuses.
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace nbhub::auth {

struct Decision {
  bool allowed = false;
  std::string reason;          // for the log: "allowed_users", "blocked_users", "no allow rule matched"
  std::optional<bool> admin;   // nullopt: leave the stored flag as it is
};

// `groups` are the user's groups from the IdP (only meaningful with manage_groups);
// `exists` says whether the user is already known to the hub (allow_existing_users);
// `allow_all_by_default` (Identity's, for kind = "dummy") makes allow_all true while
// allowed_users is empty. `provider_allow` (Identity::allowed_by: a CILogon IdP's allow_all or
// allowed_domains) allows when no hub-wide rule did, as OAuthenticator's check_allowed.
Decision decide(config::AuthConfig const& cfg, std::string const& name,
                std::vector<std::string> const& groups, bool exists,
                bool allow_all_by_default = false, std::string const& provider_allow = {});

}  // namespace nbhub::auth
