#pragma once
// CILogon's per-IdP rules, as OAuthenticator's CILogonOAuthenticator applies them since 15.0
// (the fix for GHSA-r7v4-jwx9-wx43): CILogon federates thousands of identity providers, and
// which one a user picks on CILogon's page is the user's choice, whatever `selected_idp` the
// hub asked for. So a hub that trusts some IdPs must check the `idp` claim itself, and derive
// usernames per IdP so that alice@a.edu at one IdP and alice@a.edu at another do not become
// the same hub user unless configured so.
//
// `idps` (TOML, one table per IdP; jupyterhub_config.py's dict keyed by entity id):
//   entity_id             the IdP's EntityID (https://, http:// or urn:), required
//   username_derivation   {username_claim (required), action = "strip_idp_domain" | "prefix",
//                          domain (strip_idp_domain), prefix (prefix)}
//   allow_all             allow everyone signing in through this IdP
//   allowed_domains       allow users of these domains (fnmatch patterns, case-insensitive)
//   allowed_domains_claim the claim holding the domain (or an address); default: the username
//   default               pre-selected on CILogon's page
#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"

namespace nbhub::auth {

// Reads and checks `idps` (JSON text: an array of tables). Errors name the entry and key.
Result<std::vector<config::CilogonIdp>> parse_cilogon_idps(std::string_view json_text);

// CILogon's `selected_idp` authorize parameter: the default IdP first (or the first), then
// the others, comma-separated.
std::string selected_idp_param(std::vector<config::CilogonIdp> const& idps);

struct CilogonUser {
  std::string username;  // derived, before normalisation (lower case, username_map)
  std::string allowed_by;  // "" or why this IdP's rules allow the user (for the log)
  std::string username_claim;  // the claim it came from (the e-mail verification check)
};

// The username of a sign-in, from the claims and the rules of the IdP its `idp` claim names.
// Refused (Errc::forbidden) when the claim is missing or names an IdP not in `idps`, or the
// IdP's username claim is missing; messages are for the user and name no claim value but the
// IdP's entity id.
Result<CilogonUser> cilogon_user(std::vector<config::CilogonIdp> const& idps,
                                 boost::json::object const& claims);

}  // namespace nbhub::auth
