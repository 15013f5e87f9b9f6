#pragma once
// Roles (spec/jupyterhub-contract.md §4.6, jupyterhub/roles.py): the built-in `user`, `admin`,
// `server` and `token` roles, roles from config (`load_roles`, which may also redefine the
// built-in ones), who holds which role, and the expanded scopes of users, services and tokens.
//
// Immutable after load: shared by every request thread without locks.
#include <boost/json/object.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "hub/scopes.hpp"
#include "store/rows.hpp"

namespace nbhub::store { class Store; }

namespace nbhub::hub {

// Start-up (spec §4.5a): every name in admin_users and allowed_users exists as a user, and
// admin_users are admins. Blocking (runs before the listeners open).
Result<void> ensure_config_users(store::Store& store, std::vector<std::string> const& admin_users,
                                 std::vector<std::string> const& allowed_users);

struct Role {
  std::string name;
  std::string description;
  std::vector<std::string> scopes;    // as written: may hold meta-scopes and bare owner filters
  std::vector<std::string> users;     // assigned by config
  std::vector<std::string> groups;
  std::vector<std::string> services;
};

class Roles {
 public:
  // Built-in roles only.
  Roles();
  // Built-ins, then the roles of `load_roles` (a JSON array of objects with name, description,
  // scopes, users, groups, services). Errors (Errc::config) name the role and the bad field or
  // scope; every role is checked before the first error is returned. `extra_user_scopes`
  // (JupyterHub 6.0) join the built-in `user` role's scopes, unless load_roles gives that role
  // scopes of its own (then they are ignored, as JupyterHub does).
  static Result<Roles> load(std::string_view load_roles_json,
                            std::vector<std::string> const& extra_user_scopes = {});

  Role const* find(std::string_view name) const;
  std::vector<Role> const& all() const { return roles_; }

  // Role names, sorted: `user` for everyone, `admin` for admins, and config assignments by
  // name or group.
  std::vector<std::string> role_names_for_user(store::UserRow const& user) const;
  std::vector<std::string> role_names_for_group(std::string_view group) const;
  std::vector<std::string> role_names_for_service(std::string_view service, bool admin) const;
  // Admin flag or a config assignment of the `admin` role.
  bool is_admin(store::UserRow const& user) const;

  ScopeSet user_scopes(store::UserRow const& user) const;
  ScopeSet service_scopes(std::string_view service, bool admin) const;
  // What a token may do now: its stored scopes (empty: the `token` role) expanded for its
  // owner, plus the owner's identify scopes, cut down to the owner's current scopes.
  ScopeSet token_scopes(store::TokenRow const& token, ScopeOwner const& owner, ScopeSet const& owner_scopes,
                        std::function<std::vector<std::string>(std::string const&)> const& groups_of) const;

 private:
  ScopeSet scopes_of_roles(std::vector<std::string> const& names, ScopeOwner const& owner) const;
  std::vector<Role> roles_;
};

}  // namespace nbhub::hub
