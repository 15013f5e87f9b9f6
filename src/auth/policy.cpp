#include "auth/policy.hpp"

#include <algorithm>

namespace nbhub::auth {

namespace {
bool contains(std::vector<std::string> const& v, std::string const& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}
bool intersects(std::vector<std::string> const& a, std::vector<std::string> const& b) {
  return std::any_of(a.begin(), a.end(), [&](auto const& x) { return contains(b, x); });
}
}  // namespace

Decision decide(config::AuthConfig const& cfg, std::string const& name,
                std::vector<std::string> const& groups, bool exists,
                bool allow_all_by_default, std::string const& provider_allow) {
  Decision d;
  // admin_users always grants admin. admin_groups grants it to members and, when configured,
  // revokes it from everyone else who is not in admin_users (OAuthenticator 17).
  bool in_admin_users = contains(cfg.admin_users, name);
  bool in_admin_groups = cfg.manage_groups && intersects(groups, cfg.admin_groups);
  if (in_admin_users || in_admin_groups) d.admin = true;
  else if (cfg.manage_groups && !cfg.admin_groups.empty()) d.admin = false;

  if (contains(cfg.blocked_users, name)) {
    d.reason = "blocked_users";
    return d;
  }
  if (cfg.allow_all) d.reason = "allow_all";
  else if (allow_all_by_default && cfg.allowed_users.empty()) d.reason = "allow_all by default";
  else if (d.admin.value_or(false)) d.reason = in_admin_users ? "admin_users" : "admin_groups";
  else if (contains(cfg.allowed_users, name)) d.reason = "allowed_users";
  else if (cfg.allow_existing_users && exists) d.reason = "allow_existing_users";
  else if (cfg.manage_groups && intersects(groups, cfg.allowed_groups)) d.reason = "allowed_groups";
  else if (!provider_allow.empty()) d.reason = provider_allow;
  else {
    d.reason = "no allow rule matched";
    return d;
  }
  d.allowed = true;
  return d;
}

}  // namespace nbhub::auth
