#include "hub/scopes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace nbhub::hub {

std::string server_access_scope(std::string_view user, std::string_view server_name) {
  return fmt::format("access:servers!server={}/{}", user, server_name);
}

std::vector<std::string> server_access_scopes(std::string_view user, std::string_view server_name) {
  return {server_access_scope(user, server_name), fmt::format("access:servers!user={}", user)};
}

std::vector<std::string> identify_scopes(std::string_view user) {
  return {fmt::format("read:users:name!user={}", user), fmt::format("read:users:groups!user={}", user)};
}

std::vector<std::string> server_token_scopes(std::string_view user, std::string_view server_name) {
  return {fmt::format("users:activity!user={}", user), server_access_scope(user, server_name)};
}

namespace {

struct ScopeInfo {
  std::vector<std::string_view> subscopes;
  std::string_view description;
};

// JupyterHub 5.x's scope_definitions (3.0's set plus admin:services and sharing), with the
// descriptions shown on the token page.
std::map<std::string_view, ScopeInfo, std::less<>> const& definitions() {
  static std::map<std::string_view, ScopeInfo, std::less<>> const defs{
      {"self", {{}, "Your own resources"}},
      {"inherit", {{}, "Everything the token's owner can do"}},
      {"admin-ui", {{}, "Access the admin page"}},
      {"admin:users", {{"admin:auth_state", "users", "read:roles:users", "delete:users"}, "Read, modify, create and delete users and their authentication state"}},
      {"admin:auth_state", {{}, "Read a user's authentication state"}},
      {"users", {{"read:users", "list:users", "users:activity"}, "Read and update user models"}},
      {"delete:users", {{}, "Delete users"}},
      {"list:users", {{"read:users:name"}, "List users, including at least their names"}},
      {"read:users", {{"read:users:name", "read:users:groups", "read:users:activity"}, "Read user models (except auth_state)"}},
      {"read:users:name", {{}, "Read names of users"}},
      {"read:users:groups", {{}, "Read users' group membership"}},
      {"read:users:activity", {{}, "Read time of last user activity"}},
      {"users:activity", {{"read:users:activity"}, "Update time of last user activity"}},
      {"read:roles", {{"read:roles:users", "read:roles:services", "read:roles:groups"}, "Read role assignments"}},
      {"read:roles:users", {{}, "Read user role assignments"}},
      {"read:roles:services", {{}, "Read service role assignments"}},
      {"read:roles:groups", {{}, "Read group role assignments"}},
      {"admin:servers", {{"admin:server_state", "servers"}, "Read, start, stop, create and delete user servers and their state"}},
      {"admin:server_state", {{}, "Read and write users' server state"}},
      {"servers", {{"read:servers", "start:servers", "delete:servers"}, "Start and stop user servers"}},
      // JupyterHub 6.0: start (and create, edit) servers, without access to them or stopping them.
      {"start:servers", {{}, "Start and edit users' servers"}},
      {"read:servers", {{"read:users:name"}, "Read users' names and their server models (except state)"}},
      {"delete:servers", {{}, "Stop and delete users' servers"}},
      {"tokens", {{"read:tokens"}, "Read, write, create and delete user tokens"}},
      {"read:tokens", {{}, "Read user tokens"}},
      {"admin:groups", {{"groups", "read:roles:groups", "delete:groups"}, "Read and write group information, create and delete groups"}},
      {"groups", {{"read:groups", "list:groups"}, "Read and write group information, including adding and removing users"}},
      {"list:groups", {{"read:groups:name"}, "List groups, including at least their names"}},
      {"read:groups", {{"read:groups:name"}, "Read group models"}},
      {"read:groups:name", {{}, "Read group names"}},
      {"delete:groups", {{}, "Delete groups"}},
      {"admin:services", {{"list:services", "read:services", "read:roles:services"}, "Create, read, update and delete services"}},
      {"list:services", {{"read:services:name"}, "List services, including at least their names"}},
      {"read:services", {{"read:services:name"}, "Read service models"}},
      {"read:services:name", {{}, "Read service names"}},
      {"read:hub", {{}, "Read detailed information about the Hub"}},
      {"access:servers", {{}, "Access user servers via API or browser"}},
      {"access:services", {{}, "Access services via API or browser"}},
      {"proxy", {{}, "Read information about the proxy's routing table, sync the Hub with the proxy and notify the Hub about a new proxy"}},
      {"shutdown", {{}, "Shutdown the hub"}},
      {"read:metrics", {{}, "Read prometheus metrics"}},
      // nbhub's own (JupyterHub has no such endpoints): GET /hub/api/config and
      // POST /hub/api/config/reload (docs/operations.md).
      {"admin:config", {{"read:config"}, "Reload the hub's configuration"}},
      {"read:config", {{}, "Read the hub's configuration in effect (secrets redacted)"}},
      {"shares", {{"read:shares", "users:shares", "groups:shares"}, "Manage access to shared servers"}},
      {"read:shares", {{"read:users:shares", "read:groups:shares"}, "Read information about shared access to servers"}},
      {"users:shares", {{"read:users:shares"}, "Read and revoke a user's access to shared servers"}},
      {"read:users:shares", {{}, "Read servers shared with a user"}},
      {"groups:shares", {{"read:groups:shares"}, "Read and revoke a group's access to shared servers"}},
      {"read:groups:shares", {{}, "Read servers shared with a group"}},
  };
  return defs;
}

// What `self` means for a user (JupyterHub's get_scopes_for "self" expansion), `!user=<owner>`.
constexpr std::string_view kSelfScopes[] = {
    "read:users", "read:users:name", "read:users:groups", "users:activity", "read:users:activity", "servers",
    "delete:servers", "read:servers", "start:servers", "tokens", "read:tokens", "access:servers",
    // JupyterHub 5: see and leave what is shared with you, see your servers' shares (not grant).
    "users:shares", "read:users:shares", "read:shares"};

bool is_meta(std::string_view base) {
  return base == "self" || base == "inherit" || base == "identify" || base == "(no_scope)" || base == "all";
}

void add_implied(std::string_view base, std::vector<std::string>& out) {
  if (std::find(out.begin(), out.end(), base) != out.end()) return;
  out.emplace_back(base);
  auto const& defs = definitions();
  if (auto it = defs.find(base); it != defs.end())
    for (auto sub : it->second.subscopes) add_implied(sub, out);
}

std::string with_filter(std::string_view base, std::string_view kind, std::string_view value) {
  if (kind.empty()) return std::string(base);
  return fmt::format("{}!{}={}", base, kind, value);
}

// The expanded scope `base` filtered by the (resolved) filter of `p`.
void add_expanded(std::string_view base, std::string_view kind, std::string_view value, ScopeSet& out) {
  for (auto const& b : implied_bases(base)) {
    out.insert(with_filter(b, kind, value));
    // A read scope on one server also lets the holder read its owner's name.
    if (kind == "server" && b.starts_with("read:")) {
      auto slash = value.find('/');
      out.insert(with_filter("read:users:name", "user", value.substr(0, slash)));
    }
  }
}

}  // namespace

ParsedScope parse_scope(std::string_view s) {
  auto bang = s.find('!');
  if (bang == std::string_view::npos) return {s, "", "", false};
  auto filter = s.substr(bang + 1);
  auto eq = filter.find('=');
  if (eq == std::string_view::npos) return {s.substr(0, bang), filter, "", true};
  return {s.substr(0, bang), filter.substr(0, eq), filter.substr(eq + 1), false};
}

bool is_known_scope_name(std::string_view base) {
  if (base.starts_with("custom:") && base.size() > 7) return true;
  return is_meta(base) || definitions().contains(base);
}

std::optional<std::string> scope_problem(std::string_view scope) {
  auto p = parse_scope(scope);
  if (p.base.empty()) return fmt::format("scope \"{}\" has no name", scope);
  if (!is_known_scope_name(p.base)) return fmt::format("scope \"{}\" does not exist", scope);
  if (scope.find('!') != std::string_view::npos) {
    if (p.filter_kind != "user" && p.filter_kind != "server" && p.filter_kind != "group" && p.filter_kind != "service")
      return fmt::format("scope \"{}\" has an unknown filter (use !user=, !server=, !group= or !service=)", scope);
    if (p.bare_filter && p.filter_kind == "group")
      return fmt::format("scope \"{}\": a group filter needs a name (!group=<name>)", scope);
    if (!p.bare_filter && p.filter_value.empty()) return fmt::format("scope \"{}\" has an empty filter value", scope);
    if (p.filter_kind == "server" && !p.bare_filter && p.filter_value.find('/') == std::string_view::npos)
      return fmt::format("scope \"{}\": a server filter is <user>/<server> (\"alice/\" for the default server)", scope);
  }
  return std::nullopt;
}

std::vector<std::string> implied_bases(std::string_view base) {
  std::vector<std::string> out;
  add_implied(base, out);
  return out;
}

std::string_view scope_description(std::string_view base) {
  if (base.starts_with("custom:")) return "Custom scope";
  auto const& defs = definitions();
  auto it = defs.find(base);
  return it == defs.end() ? std::string_view{} : it->second.description;
}

std::vector<std::string> const& core_scope_names() {
  static std::vector<std::string> const names = [] {
    std::vector<std::string> out;
    for (auto const& [name, info] : definitions())
      if (name != "self" && name != "inherit") out.emplace_back(name);
    return out;
  }();
  return names;
}

ScopeSet expand_scopes(std::vector<std::string> const& raw, ScopeOwner const& owner, ScopeSet const* owner_scopes) {
  ScopeSet out;
  bool is_user = owner.kind == ScopeOwner::Kind::user;
  for (auto const& s : raw) {
    if (scope_problem(s)) continue;
    auto p = parse_scope(s);
    if (p.base == "identify" || p.base == "(no_scope)") continue;
    if (p.base == "inherit" || p.base == "all") {
      if (owner_scopes) out.insert(owner_scopes->begin(), owner_scopes->end());
      continue;
    }
    std::string_view kind = p.filter_kind, value = p.filter_value;
    std::string resolved;
    if (p.bare_filter) {
      if (kind == "user" && is_user) value = owner.name;
      else if (kind == "service" && !is_user) value = owner.name;
      else if (kind == "server" && is_user && owner.server_name) {
        resolved = owner.name + "/" + *owner.server_name;
        value = resolved;
      } else continue;  // an owner filter that does not apply to this owner grants nothing
    }
    if (p.base == "self") {
      if (!is_user) continue;
      for (auto b : kSelfScopes) add_expanded(b, "user", owner.name, out);
      continue;
    }
    add_expanded(p.base, kind, value, out);
  }
  return out;
}

bool has_scope(ScopeSet const& expanded, std::string_view base, ScopeTarget const& t) {
  if (expanded.contains(base)) return true;
  auto has = [&](std::string_view kind, std::string_view value) {
    return expanded.contains(with_filter(base, kind, value));
  };
  if (t.user) {
    if (has("user", *t.user)) return true;
    if (t.server && has("server", *t.user + "/" + *t.server)) return true;
    for (auto const& g : t.user_groups)
      if (has("group", g)) return true;
  }
  if (t.group && has("group", *t.group)) return true;
  if (t.service && has("service", *t.service)) return true;
  return false;
}

bool has_any_scope(ScopeSet const& expanded, std::string_view base) {
  auto it = expanded.lower_bound(base);
  for (; it != expanded.end() && std::string_view(*it).starts_with(base); ++it) {
    std::string_view s = *it;
    if (s.size() == base.size() || s[base.size()] == '!') return true;
  }
  return false;
}

namespace {

ScopeTarget target_of(ParsedScope const& p,
                      std::function<std::vector<std::string>(std::string const&)> const& groups_of) {
  ScopeTarget t;
  if (p.filter_kind == "user" || p.filter_kind == "server") {
    auto value = p.filter_value;
    auto slash = value.find('/');
    t.user = std::string(value.substr(0, slash));
    if (p.filter_kind == "server" && slash != std::string_view::npos) t.server = std::string(value.substr(slash + 1));
    if (groups_of) t.user_groups = groups_of(*t.user);
  } else if (p.filter_kind == "group") {
    t.group = std::string(p.filter_value);
  } else if (p.filter_kind == "service") {
    t.service = std::string(p.filter_value);
  }
  return t;
}

// True when the token scope `t` (filter) reaches at least everything `o` (same base) reaches.
bool filter_contains(ParsedScope const& t, ParsedScope const& o,
                     std::function<std::vector<std::string>(std::string const&)> const& groups_of) {
  if (t.filter_kind.empty()) return true;
  if (t.filter_kind == o.filter_kind && t.filter_value == o.filter_value) return true;
  auto owner_user = [&]() {
    auto v = o.filter_value;
    return std::string(v.substr(0, v.find('/')));
  };
  if (t.filter_kind == "user" && o.filter_kind == "server") return owner_user() == t.filter_value;
  if (t.filter_kind == "group" && (o.filter_kind == "user" || o.filter_kind == "server") && groups_of) {
    auto groups = groups_of(owner_user());
    return std::find(groups.begin(), groups.end(), t.filter_value) != groups.end();
  }
  return false;
}

}  // namespace

ScopeSet intersect_scopes(ScopeSet const& token, ScopeSet const& owner,
                          std::function<std::vector<std::string>(std::string const&)> const& groups_of) {
  ScopeSet out;
  for (auto const& t : token) {
    auto pt = parse_scope(t);
    if (has_scope(owner, pt.base, target_of(pt, groups_of)) &&
        (!pt.filter_kind.empty() || owner.contains(pt.base))) {
      out.insert(t);
      continue;
    }
    // The owner holds this scope only on narrower filters: keep those the token reaches.
    for (auto it = owner.lower_bound(pt.base); it != owner.end() && std::string_view(*it).starts_with(pt.base); ++it) {
      auto po = parse_scope(*it);
      if (po.base != pt.base) continue;
      if (filter_contains(pt, po, groups_of)) out.insert(*it);
    }
  }
  return out;
}

bool scope_covers(std::string_view held, std::string_view needed) {
  auto h = parse_scope(held), n = parse_scope(needed);
  auto implied = implied_bases(h.base);
  if (std::find(implied.begin(), implied.end(), n.base) == implied.end()) return false;
  if (h.filter_kind.empty()) return true;  // unfiltered grant
  if (n.filter_kind.empty()) return false;  // a filtered grant never covers an unfiltered need
  return filter_contains(h, n, {});
}

bool any_scope_covers(std::vector<std::string> const& held, std::string_view needed) {
  for (auto const& h : held)
    if (scope_covers(h, needed)) return true;
  return false;
}

}  // namespace nbhub::hub
