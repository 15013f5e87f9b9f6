#include "hub/scopes.hpp"

#include <fmt/format.h>

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

std::vector<std::string> user_scopes(std::string_view user, bool admin) {
  if (admin) return {"admin:users", "admin:servers", "access:servers", "users:activity", "read:users", "tokens", "admin:auth_state"};
  return {fmt::format("access:servers!user={}", user), fmt::format("servers!user={}", user),
          fmt::format("users:activity!user={}", user), fmt::format("read:users!user={}", user),
          fmt::format("tokens!user={}", user)};
}

namespace {
struct Parsed {
  std::string_view base, kind, value;  // kind: "", user, server, group, service
};
Parsed parse(std::string_view s) {
  auto bang = s.find('!');
  if (bang == std::string_view::npos) return {s, "", ""};
  auto filter = s.substr(bang + 1);
  auto eq = filter.find('=');
  if (eq == std::string_view::npos) return {s.substr(0, bang), filter, ""};
  return {s.substr(0, bang), filter.substr(0, eq), filter.substr(eq + 1)};
}
// Sub-scopes: `read:users` covers `read:users:name`; `admin:users` covers `read:users`.
bool base_covers(std::string_view held, std::string_view needed) {
  if (held == needed) return true;
  if (needed.starts_with(held) && needed.size() > held.size() && needed[held.size()] == ':') return true;
  if (held == "admin:users" && (needed.starts_with("read:users") || needed == "users:activity")) return true;
  if (held == "admin:servers" && (needed.starts_with("servers") || needed.starts_with("read:servers"))) return true;
  if (held == "servers" && needed == "read:servers") return true;
  return false;
}
}  // namespace

bool scope_covers(std::string_view held, std::string_view needed) {
  auto h = parse(held), n = parse(needed);
  if (!base_covers(h.base, n.base)) return false;
  if (h.kind.empty()) return true;           // unfiltered grant
  if (n.kind.empty()) return false;          // filtered grant never covers an unfiltered need
  if (h.kind == n.kind) return h.value == n.value;
  if (h.kind == "user" && n.kind == "server") {
    auto slash = n.value.find('/');
    return n.value.substr(0, slash) == h.value;
  }
  return false;  // group filters are resolved by the REST API layer
}

bool any_scope_covers(std::vector<std::string> const& held, std::string_view needed) {
  for (auto const& h : held)
    if (scope_covers(h, needed)) return true;
  return false;
}

}  // namespace nbhub::hub
