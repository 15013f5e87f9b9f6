#pragma once
// JupyterHub 6.0's rules for new named servers (jupyterhub/slugs.py, docs "Upgrading to
// JupyterHub 6"): a strict server name used in URLs and labels, and a free-form display name
// shown to people. Pure functions; the REST handlers decide when they apply (a 3.0 client's
// start keeps 3.0's lax names: web/server_routes.cpp).
#include <optional>
#include <string>
#include <string_view>

namespace nbhub::hub {

// 1-30 characters of lowercase ASCII letters, digits and single hyphens, starting with a
// letter and ending with a letter or digit (is_valid_safe_slug).
bool is_strict_server_name(std::string_view name);

// Why `display_name` (UTF-8) is not one, or nullopt: 1-255 characters, no leading, trailing or
// double space, no control characters or whitespace other than the space (is_valid_display_name;
// JupyterHub also refuses other non-printable Unicode categories, which nbhub does not tell
// apart beyond the C0/C1 controls).
std::optional<std::string> display_name_problem(std::string_view display_name);

}  // namespace nbhub::hub
