#pragma once
// What the REST API's write handlers read from their JSON request bodies, apart from the
// handlers' coroutines: each function turns a parsed body into a typed request, or into the
// 400 message JupyterHub gives (Errc::bad_request). The handlers do the scope checks and the
// store calls; these do no I/O, so tests/fuzz/fuzz_api_bodies.cpp feeds them any bytes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace nbhub::web {

// A request body as JSON: empty or blank is null (JupyterHub's get_json_body), anything that
// does not parse is "Invalid JSON in body of request".
Result<boost::json::value> parse_json_body(std::string_view body);

// What JupyterHub's default Authenticator.validate_username lets through, minus the names
// that would break URLs: nothing empty, no '/', no control characters, at most 255 bytes.
std::optional<std::string> user_name_problem(std::string_view name);
std::optional<std::string> group_name_problem(std::string_view name);

// POST /users {"usernames": [...], "admin": bool}: the names without repeats.
struct CreateUsersRequest {
  std::vector<std::string> names;
  bool admin = false;
};
Result<CreateUsersRequest> parse_create_users(boost::json::value const& body);

// POST /users/{name} {"admin": bool}?: the admin flag (false when absent).
Result<bool> parse_create_user(boost::json::value const& body);

// PATCH /users/{name}: name and admin; groups and roles are type-checked only.
struct PatchUserRequest {
  std::optional<std::string> name;
  std::optional<bool> admin;
};
Result<PatchUserRequest> parse_patch_user(boost::json::value const& body);

// {"users": [...]} of the group routes; absent users is an empty list unless `required`.
Result<std::vector<std::string>> parse_group_users(boost::json::value const& body, bool required);

// POST /groups {"groups": [...], "users": [...]?}
struct CreateGroupsRequest {
  std::vector<std::string> names;
  std::vector<std::string> users;
};
Result<CreateGroupsRequest> parse_create_groups(boost::json::value const& body);

// POST /users/{name}/tokens {"expires_in", "note", "scopes", "roles"}, all optional.
// `asked` is true when scopes or roles were given (even empty); role names are resolved by
// the handler against the configured roles.
struct TokenRequest {
  std::optional<std::int64_t> expires_in_seconds;
  std::string note;
  std::vector<std::string> scopes;
  std::vector<std::string> roles;
  bool asked = false;
};
// The longest a token may live when the caller asks: ten years; beyond that is a typo.
inline constexpr std::int64_t kMaxTokenExpiresIn = 10LL * 365 * 86400;
Result<TokenRequest> parse_token_request(boost::json::value const& body);

// POST /users/{name}/server[s/{server}] and PUT:
// The body of a server start or PUT (JupyterHub 6.0's UserServerAPIHandler.get_server_json_body):
// with a `display_name` or `user_options` key it is the 6.0 form, the options under
// `user_options`; otherwise the whole object is the options, as in 3.0 and 5.x.
struct ServerBody {
  boost::json::object options;
  bool has_options = false;  // options were given (a start without them reuses the stored ones)
  std::string display_name;
  bool v6 = false;           // the 6.0 form
};
// The body, or the 400 message.
std::variant<ServerBody, std::string> parse_server_body(std::string const& text);

// POST /users/{name}/activity {"last_activity": ts?, "servers": {name: {"last_activity": ts}}?}
struct ActivityRequest {
  std::optional<Clock::SysTime> user_last_activity;
  std::vector<std::pair<std::string, Clock::SysTime>> servers;
};
Result<ActivityRequest> parse_activity(std::string_view body);

// Lenient ISO 8601 as JupyterHub sends it ("2024-05-01T12:34:56.789012Z", "+00:00").
std::optional<Clock::SysTime> parse_activity_time(std::string_view s);

}  // namespace nbhub::web
