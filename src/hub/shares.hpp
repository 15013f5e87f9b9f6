#pragma once
// Sharing (JupyterHub 5.0, docs/sharing.md): the rules that do not depend on HTTP. A share
// grants scopes on one server, each filtered `!server=<owner>/<server>`; a user holds, beyond
// their roles, the scopes of every share to them or to one of their groups.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "hub/scopes.hpp"
#include "store/rows.hpp"

namespace nbhub::store { class Store; }

namespace nbhub::hub {

// `access:servers!server=<owner>/<server>`: what a share grants when no scopes are given.
std::vector<std::string> default_share_scopes(std::string_view owner, std::string_view server);

// JupyterHub's Share._apply_filter plus its scope check: every scope must exist and carry no
// filter or exactly `!server=<owner>/<server>`; returns them all with that filter, sorted and
// unique. bad_request names the first offending scope (JupyterHub's 400 message).
Result<std::vector<std::string>> filter_share_scopes(std::vector<std::string> const& scopes, std::string_view owner,
                                                     std::string_view server);

// `role_scopes` plus the expanded scopes of every share to `user` or their groups, read now
// (so a revoked share stops counting on the next request). Blocking: one store query. A store
// failure fails closed: the role scopes alone come back.
ScopeSet with_shared_scopes(ScopeSet role_scopes, store::UserRow const& user, store::Store& store);

// One line per scope for the accept page ("Access user servers via API or browser"), with the
// server it applies to.
struct ScopeLine {
  std::string description;
  std::string applies_to;  // "alice/" style server filter, or ""
};
std::vector<ScopeLine> describe_share_scopes(std::vector<std::string> const& scopes);

// "sc_12" <-> 12 (the REST API's share code ids); nullopt for anything else.
std::string share_code_id(std::int64_t id);
std::optional<std::int64_t> parse_share_code_id(std::string_view s);

}  // namespace nbhub::hub
