#pragma once
// The scopes nbhub needs for the single-user server contract (spec/jupyterhub-contract.md
// §1.5, §2.4, §3.2, §3.6). Scope strings use JupyterHub's syntax: `name` or `name!filter=value`
// with filters user=, server=<user>/<server>, group=, service=. The full role and scope model
// (load_roles, expansion for every API scope) comes with the REST API.
#include <string>
#include <string_view>
#include <vector>

namespace nbhub::hub {

// `access:servers!server=alice/` (default server) or `access:servers!server=alice/gpu`.
std::string server_access_scope(std::string_view user, std::string_view server_name);
// What a visitor needs to use the server: JUPYTERHUB_OAUTH_ACCESS_SCOPES.
std::vector<std::string> server_access_scopes(std::string_view user, std::string_view server_name);
// Scopes always granted to an OAuth token so the owner can identify themself.
std::vector<std::string> identify_scopes(std::string_view user);
// The server's own JUPYTERHUB_API_TOKEN (role `server`, 4.0+ semantics).
std::vector<std::string> server_token_scopes(std::string_view user, std::string_view server_name);
// A user's own scopes (role `user`), plus everything for admins (role `admin`).
std::vector<std::string> user_scopes(std::string_view user, bool admin);

// True when `held` grants `needed` (exact, unfiltered base scope, or a filter that covers it:
// `!user=alice` covers `!server=alice/...`).
bool scope_covers(std::string_view held, std::string_view needed);
bool any_scope_covers(std::vector<std::string> const& held, std::string_view needed);

}  // namespace nbhub::hub
