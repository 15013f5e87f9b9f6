#pragma once
// JupyterHub's scopes (spec/jupyterhub-contract.md §4.6, jupyterhub/scopes.py): the scope
// hierarchy, expansion of meta-scopes and owner filters, the per-request check with filters
// (`!user=`, `!server=`, `!group=`, `!service=`), and the intersection that limits a token to
// what its owner holds now.
//
// A scope string is `name` or `name!filter`; filters are `user=<name>`, `server=<user>/<server>`
// (default server: `alice/`), `group=<name>`, `service=<name>`. In role definitions a bare
// `!user`, `!server` or `!service` means "the owner" and is replaced during expansion.
// Expanded scope sets hold every implied sub-scope explicitly, each with its filter, so a
// check is a set lookup per filter that could apply.
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace nbhub::hub {

using ScopeSet = std::set<std::string, std::less<>>;

// --- the contract helpers used by servers and the OAuth provider (spec §1.5, §3) -------------

// `access:servers!server=alice/` (default server) or `access:servers!server=alice/gpu`.
std::string server_access_scope(std::string_view user, std::string_view server_name);
// What a visitor needs to use the server: JUPYTERHUB_OAUTH_ACCESS_SCOPES.
std::vector<std::string> server_access_scopes(std::string_view user, std::string_view server_name);
// Scopes always granted to an OAuth token so the owner can identify themself.
std::vector<std::string> identify_scopes(std::string_view user);
// The server's own JUPYTERHUB_API_TOKEN (role `server`, 4.0+ semantics).
std::vector<std::string> server_token_scopes(std::string_view user, std::string_view server_name);

// --- the hierarchy -----------------------------------------------------------------------------

struct ParsedScope {
  std::string_view base;
  std::string_view filter_kind;   // "", "user", "server", "group", "service"
  std::string_view filter_value;  // empty for a bare owner filter (`!user`)
  bool bare_filter = false;       // `!user` without `=`
};
ParsedScope parse_scope(std::string_view scope);

// True for the core scope names, `custom:<name>` and the meta-scopes (`self`, `inherit`,
// `identify`, `(no_scope)`, `all`).
bool is_known_scope_name(std::string_view base);
// Checks the syntax and the name; returns a message naming what is wrong, or nullopt.
std::optional<std::string> scope_problem(std::string_view scope);
// The base and every scope it implies, transitively (`users` -> read:users, list:users, ...).
std::vector<std::string> implied_bases(std::string_view base);
// One-line description for the token page.
std::string_view scope_description(std::string_view base);
// The core scopes a person may pick on the token page, in a stable order.
std::vector<std::string> const& core_scope_names();

// --- expansion and checks ------------------------------------------------------------------------

// Whose scopes are being expanded: a user (with their groups for `!group=` checks) or a
// service; `server_name` is set for a server's own token (bare `!server`).
struct ScopeOwner {
  enum class Kind { user, service } kind = Kind::user;
  std::string name;
  std::optional<std::string> server_name;
};

// Expands `raw` for `owner`: meta-scopes (`self` -> the user's own scopes; `inherit` ->
// `owner_scopes`, which must then be given), bare owner filters, implied sub-scopes, and the
// rule that a read scope on `!server=u/s` also grants `read:users:name!user=u`. Unknown or
// malformed scopes are dropped (load_roles and the token API refuse them earlier).
ScopeSet expand_scopes(std::vector<std::string> const& raw, ScopeOwner const& owner,
                       ScopeSet const* owner_scopes = nullptr);

// What a request is about: a user (and their groups), one of their servers, a group, a service.
struct ScopeTarget {
  std::optional<std::string> user;
  std::vector<std::string> user_groups;
  std::optional<std::string> server;  // server name of `user`: "" = default
  std::optional<std::string> group;
  std::optional<std::string> service;
};

// True when the expanded set grants `base` unfiltered or with a filter matching `target`.
bool has_scope(ScopeSet const& expanded, std::string_view base, ScopeTarget const& target = {});
// True when `base` is held in any form (unfiltered or filtered): a list endpoint answers,
// filtered to what matches.
bool has_any_scope(ScopeSet const& expanded, std::string_view base);

// The token's expanded scopes cut down to what its owner holds (JupyterHub's
// _intersect_expanded_scopes): a token scope survives when the owner's set covers it; an
// unfiltered or broader token scope that the owner holds only filtered becomes the owner's
// filtered scopes. `groups_of` resolves `!group=` against users.
ScopeSet intersect_scopes(ScopeSet const& token, ScopeSet const& owner,
                          std::function<std::vector<std::string>(std::string const&)> const& groups_of = {});

// Legacy helpers (raw scope strings, no groups): true when `held` grants `needed`.
bool scope_covers(std::string_view held, std::string_view needed);
bool any_scope_covers(std::vector<std::string> const& held, std::string_view needed);

}  // namespace nbhub::hub
