#pragma once
// Claims from the IdP (ID token and userinfo) and how an nbhub user is derived from them.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace nbhub::auth {

// Looks up a dotted path in nested claims. Claim names may themselves contain dots or colons
// (`cognito:groups`, `https://example.org/claims.groups`), so at each level the longest
// prefix of the remaining path that is a key wins: `a.b.c` tries key "a.b.c", then "a.b"
// followed by "c", then "a" followed by "b.c".
boost::json::value const* find_claim(boost::json::object const& claims, std::string_view path);

// The claim as a list of strings: an array of strings, or a string split on spaces/commas
// (some IdPs send groups as "a,b"). Missing → empty.
std::vector<std::string> claim_strings(boost::json::object const& claims, std::string_view path);

// OIDC Core §5.3.2: userinfo's `sub` must equal the ID token's `sub`. Userinfo values win for
// other keys (it is the fresher, profile-scoped source), ID-token-only claims such as
// Cognito's `cognito:groups` are kept.
Result<boost::json::object> merge_claims(boost::json::object const& id_token,
                                         boost::json::object const& userinfo);

// JupyterHub's normalize_username + validate_username: lowercase, then username_map; empty,
// '/', leading/trailing whitespace and control characters are refused.
Result<std::string> normalize_username(std::string_view raw,
                                       std::map<std::string, std::string> const& username_map);

}  // namespace nbhub::auth
