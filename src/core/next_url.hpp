#pragma once
// The single gate for request-supplied URLs that may become a Location header (`next=` on
// login, logout and spawn redirects). STYLE.md §7, after mod_auth_openidc's
// oidc_validate_redirect_url(): small checks, each with its own message.
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace nbhub {

struct NextUrlPolicy {
  std::string base_url = "/";  // accepted paths must lie under it
};

// Returns the path (with query and fragment) to redirect to, or an error saying why `raw`
// was refused. Only same-origin absolute paths are accepted: no scheme, no host, no `//` or
// `/\` prefix, no backslashes, no control characters (raw or percent-encoded), no encoded
// slashes or backslashes, no `..` segments.
Result<std::string> validate_next_url(std::string_view raw, NextUrlPolicy const& policy);

}  // namespace nbhub
