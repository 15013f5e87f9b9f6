#include "hub/shares.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "store/store.hpp"

namespace nbhub::hub {

std::vector<std::string> default_share_scopes(std::string_view owner, std::string_view server) {
  return {server_access_scope(owner, server)};
}

Result<std::vector<std::string>> filter_share_scopes(std::vector<std::string> const& scopes, std::string_view owner,
                                                     std::string_view server) {
  auto const filter = fmt::format("server={}/{}", owner, server);
  std::vector<std::string> out;
  for (auto const& s : scopes) {
    if (auto problem = scope_problem(s)) return Error{Errc::bad_request, *problem};
    auto bang = s.find('!');
    auto base = std::string_view(s).substr(0, bang);
    if (bang != std::string::npos && std::string_view(s).substr(bang + 1) != filter)
      return Error{Errc::bad_request,
                   fmt::format("!{} not allowed on sharing {}, only !{}", s.substr(bang + 1), s, filter)};
    // Meta-scopes would stand for far more than one server's access.
    if (base == "self" || base == "inherit" || base == "all" || base == "identify" || base == "(no_scope)")
      return Error{Errc::bad_request, fmt::format("{} cannot be shared; name the scopes to share", s)};
    out.push_back(fmt::format("{}!{}", base, filter));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

ScopeSet with_shared_scopes(ScopeSet role_scopes, store::UserRow const& user, store::Store& store) {
  if (user.id == 0) return role_scopes;
  auto shared = store.shared_scopes_for_user(user.id);
  if (!shared || shared->empty()) return role_scopes;  // fail closed: shares grant nothing when unreadable
  auto expanded = expand_scopes(*shared, ScopeOwner{ScopeOwner::Kind::user, user.name, std::nullopt});
  role_scopes.insert(expanded.begin(), expanded.end());
  return role_scopes;
}

std::vector<ScopeLine> describe_share_scopes(std::vector<std::string> const& scopes) {
  std::vector<ScopeLine> out;
  for (auto const& s : scopes) {
    auto p = parse_scope(s);
    auto d = scope_description(p.base);
    out.push_back({d.empty() ? std::string(p.base) : std::string(d),
                   p.filter_kind == "server" ? std::string(p.filter_value) : std::string{}});
  }
  return out;
}

std::string share_code_id(std::int64_t id) { return fmt::format("sc_{}", id); }

std::optional<std::int64_t> parse_share_code_id(std::string_view s) {
  if (!s.starts_with("sc_") || s.size() == 3) return std::nullopt;
  std::int64_t v = 0;
  auto digits = s.substr(3);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc{} || p != digits.data() + digits.size() || v < 0) return std::nullopt;
  return v;
}

}  // namespace nbhub::hub
