#include "hub/roles.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>

#include "store/store.hpp"

namespace nbhub::hub {

namespace json = boost::json;

namespace {

std::vector<Role> builtin_roles() {
  return {
      {"user", "Standard user privileges", {"self"}, {}, {}, {}},
      {"admin", "Elevated privileges (can do anything)",
       {"admin-ui", "admin:users", "admin:servers", "tokens", "admin:groups", "list:services", "read:services",
        "read:hub", "proxy", "shutdown", "access:services", "access:servers", "read:roles", "read:metrics",
        "admin:services", "shares", "admin:config"},
       {}, {}, {}},
      {"server", "Post activity only", {"users:activity!user", "access:servers!server"}, {}, {}, {}},
      {"token", "Token with same permissions as its owner", {"inherit"}, {}, {}, {}},
  };
}

Result<std::vector<std::string>> string_list(json::object const& o, std::string_view key, std::string const& role) {
  std::vector<std::string> out;
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return out;
  if (!it->value().is_array())
    return Error{Errc::config, fmt::format("load_roles: role \"{}\": {} must be a list of strings", role, key)};
  for (auto const& v : it->value().as_array()) {
    if (!v.is_string())
      return Error{Errc::config, fmt::format("load_roles: role \"{}\": {} must be a list of strings", role, key)};
    out.emplace_back(v.as_string());
  }
  return out;
}

bool contains(std::vector<std::string> const& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

Roles::Roles() : roles_(builtin_roles()) {}

Result<Roles> Roles::load(std::string_view text, std::vector<std::string> const& extra_user_scopes) {
  Roles out;
  std::vector<std::string> problems;
  for (auto const& s : extra_user_scopes) {
    if (auto p = scope_problem(s)) problems.push_back(fmt::format("extra_user_scopes: {}", *p));
    else if (!contains(out.roles_.front().scopes, s)) out.roles_.front().scopes.push_back(s);  // "user" is first
  }
  if (text.empty() && problems.empty()) return out;
  boost::system::error_code ec;
  auto doc = text.empty() ? json::value(json::array{}) : json::parse(text, ec);
  if (ec || !doc.is_array()) return Error{Errc::config, "load_roles must be a list of role tables"};
  for (auto const& v : doc.as_array()) {
    if (!v.is_object()) { problems.push_back("load_roles: every entry must be a table"); continue; }
    auto const& o = v.as_object();
    auto name_it = o.find("name");
    if (name_it == o.end() || !name_it->value().is_string() || name_it->value().as_string().empty()) {
      problems.push_back("load_roles: a role has no name");
      continue;
    }
    Role r;
    r.name = std::string(name_it->value().as_string());
    for (auto const& [k, _] : o)
      if (k != "name" && k != "description" && k != "scopes" && k != "users" && k != "groups" && k != "services")
        problems.push_back(fmt::format("load_roles: role \"{}\": unknown field \"{}\"", r.name, std::string_view(k)));
    if (auto d = o.find("description"); d != o.end() && d->value().is_string()) r.description = std::string(d->value().as_string());
    auto scopes = string_list(o, "scopes", r.name);
    auto users = string_list(o, "users", r.name);
    auto groups = string_list(o, "groups", r.name);
    auto services = string_list(o, "services", r.name);
    for (auto* l : {&scopes, &users, &groups, &services})
      if (!*l) problems.push_back(l->error().message);
    if (!scopes || !users || !groups || !services) continue;
    for (auto const& s : *scopes)
      if (auto p = scope_problem(s)) problems.push_back(fmt::format("load_roles: role \"{}\": {}", r.name, *p));
    r.users = std::move(*users);
    r.groups = std::move(*groups);
    r.services = std::move(*services);
    auto existing = std::find_if(out.roles_.begin(), out.roles_.end(), [&](Role const& x) { return x.name == r.name; });
    if (existing != out.roles_.end()) {
      // Redefining a built-in role: scopes given replace the built-in ones (JupyterHub does
      // the same); assignments add up.
      if (o.contains("scopes")) existing->scopes = std::move(*scopes);
      if (!r.description.empty()) existing->description = r.description;
      existing->users = std::move(r.users);
      existing->groups = std::move(r.groups);
      existing->services = std::move(r.services);
    } else {
      if (!o.contains("scopes")) problems.push_back(fmt::format("load_roles: role \"{}\" has no scopes", r.name));
      r.scopes = std::move(*scopes);
      out.roles_.push_back(std::move(r));
    }
  }
  if (!problems.empty()) {
    std::string msg;
    for (auto const& p : problems) msg += (msg.empty() ? "" : "\n") + p;
    return Error{Errc::config, msg};
  }
  return out;
}

Role const* Roles::find(std::string_view name) const {
  for (auto const& r : roles_)
    if (r.name == name) return &r;
  return nullptr;
}

std::vector<std::string> Roles::role_names_for_user(store::UserRow const& u) const {
  std::vector<std::string> out{"user"};
  if (u.admin) out.emplace_back("admin");
  for (auto const& r : roles_) {
    bool member = contains(r.users, u.name);
    for (auto const& g : u.groups) member = member || contains(r.groups, g);
    if (member && !contains(out, r.name)) out.push_back(r.name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Roles::role_names_for_group(std::string_view group) const {
  std::vector<std::string> out;
  for (auto const& r : roles_)
    if (contains(r.groups, group)) out.push_back(r.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Roles::role_names_for_service(std::string_view service, bool admin) const {
  std::vector<std::string> out;
  if (admin) out.emplace_back("admin");
  for (auto const& r : roles_)
    if (contains(r.services, service) && !contains(out, r.name)) out.push_back(r.name);
  std::sort(out.begin(), out.end());
  return out;
}

bool Roles::is_admin(store::UserRow const& u) const {
  if (u.admin) return true;
  auto names = role_names_for_user(u);
  return contains(names, "admin");
}

ScopeSet Roles::scopes_of_roles(std::vector<std::string> const& names, ScopeOwner const& owner) const {
  std::vector<std::string> raw;
  for (auto const& n : names)
    if (auto const* r = find(n)) raw.insert(raw.end(), r->scopes.begin(), r->scopes.end());
  return expand_scopes(raw, owner);
}

ScopeSet Roles::user_scopes(store::UserRow const& u) const {
  return scopes_of_roles(role_names_for_user(u), ScopeOwner{ScopeOwner::Kind::user, u.name, std::nullopt});
}

ScopeSet Roles::service_scopes(std::string_view service, bool admin) const {
  return scopes_of_roles(role_names_for_service(service, admin),
                         ScopeOwner{ScopeOwner::Kind::service, std::string(service), std::nullopt});
}

ScopeSet Roles::token_scopes(store::TokenRow const& token, ScopeOwner const& owner, ScopeSet const& owner_scopes,
                             std::function<std::vector<std::string>(std::string const&)> const& groups_of) const {
  std::vector<std::string> raw = token.scopes;
  if (raw.empty() && token.kind == "api") {
    if (auto const* r = find("token")) raw = r->scopes;
  }
  auto o = owner;
  if (token.server_name) o.server_name = token.server_name;
  auto expanded = expand_scopes(raw, o, &owner_scopes);
  if (owner.kind == ScopeOwner::Kind::user)
    for (auto const& s : expand_scopes(identify_scopes(owner.name), o)) expanded.insert(s);
  return intersect_scopes(expanded, owner_scopes, groups_of);
}

Result<void> ensure_config_users(store::Store& store, std::vector<std::string> const& admin_users,
                                 std::vector<std::string> const& allowed_users) {
  for (auto const* list : {&admin_users, &allowed_users}) {
    bool admin = list == &admin_users;
    for (auto const& name : *list) {
      if (name.empty()) continue;
      auto u = store.get_user(name);
      if (!u && u.error().code == Errc::not_found) {
        auto c = store.create_user(name, admin);
        if (!c && c.error().code != Errc::conflict) return c.error();
        continue;
      }
      if (!u) return u.error();
      if (admin && !u->admin)
        if (auto r = store.set_admin(name, true); !r) return r.error();
    }
  }
  return {};
}

}  // namespace nbhub::hub
