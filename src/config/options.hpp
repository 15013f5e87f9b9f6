#pragma once
// The option table: every nbhub option once, with its TOML key, type, default, environment
// variable, one-line documentation and the field of HubConfig it sets. The TOML loader, the
// environment and flag layers, `nbhub --generate-config` and docs/config.md all read this table,
// so an option added here is loadable, overridable and documented at once.
//
// TOML layout (docs/config.md): hub-wide keys at the top level of the file (before the first
// [table]); then [http], [http_client], [spawner] (with [spawner.options]), [proxy], [cull],
// [auth], and one [[auth.providers]] per identity provider.
// Durations are integer seconds in keys ending in `_seconds`; sizes are integer bytes in keys
// ending in `_bytes`.
//
// Environment: NBHUB_<SECTION>_<KEY> upper-cased, dots as underscores (NBHUB_PORT,
// NBHUB_HTTP_BODY_LIMIT_BYTES, NBHUB_AUTH_ALLOW_ALL); providers by name,
// NBHUB_AUTH_PROVIDER_<NAME>_<KEY> (NBHUB_AUTH_PROVIDER_COGNITO_CLIENT_SECRET).
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "config/value.hpp"

namespace nbhub::config {

// Which layer set a value; later layers win (built-in defaults lie below all of them).
enum class Layer { file, env, flag };

// Where a value came from, for diagnostics.
struct Origin {
  std::string file;    // path, "environment" or "command line"
  int line = 0;
  std::string option;  // as the user wrote it: "http.body_limit_bytes", "JupyterHub.port", "--port"
  Layer layer = Layer::file;
  bool python = false;  // describe values in Python words
};

enum class Scope { hub, provider };

// What an option accepts beyond its C++ type.
enum class Format {
  plain,
  path,
  url,        // "" (unset) or an absolute http:// or https:// URL with a host
  bind_url,   // http://HOST:PORT; an empty host (http://:8081, as JupyterHub) = all interfaces
  base_url,   // starts with '/'; stored ending in '/'
  db_url,     // sqlite:///PATH, sqlite:// (in memory), postgresql://...
  choice,     // one of Option::choices, case-insensitive, stored lower-case
  log_level,  // a choice that also accepts warning/fatal and upper case
  name,       // provider name: [a-z0-9][a-z0-9_-]*
  json,       // an array (of tables), stored as JSON text
};

using FieldRef =
    std::variant<std::string*, Secret*, bool*, std::uint16_t*, std::size_t*, Seconds*,
                 std::vector<std::string>*, std::map<std::string, std::string>*, TokenAuth*>;

struct Option {
  std::string key;  // hub: "port", "http.body_limit_bytes"; provider: "client_id"
  Scope scope = Scope::hub;
  Format format = Format::plain;
  std::vector<std::string> choices;
  std::string doc;  // one line, Markdown allowed (backticks)
  std::function<FieldRef(HubConfig&, ProviderConfig&)> field;
  bool secret = false;  // its value is never echoed in diagnostics

  std::string section() const;  // "", "http", "http_client", "auth", "auth.providers"
  std::string name() const;     // the last component of key
  // NBHUB_PORT; for provider options NBHUB_AUTH_PROVIDER_<provider>_CLIENT_ID.
  std::string env_name(std::string_view provider = "<NAME>") const;
  std::string type_name() const;     // "integer (seconds)", "list of strings", ...
  std::string default_toml() const;  // the built-in default as a TOML literal
  // The option's current value in `hub` / `provider` as a TOML literal (secrets included: not
  // for logs).
  std::string value_toml(HubConfig& hub, ProviderConfig& provider) const;
  // "auth.providers[0].client_id" style name for diagnostics; `index` only for providers.
  std::string display(int index = -1) const;
};

// The sections in file order; "" is the top level.
std::span<const std::string> sections();

// Every option, in document order.
std::span<const Option> options();

Option const* find_option(Scope scope, std::string_view key);

// Keys (names) directly inside `section`, for "did you mean" suggestions.
std::vector<std::string> keys_in(std::string_view section);

// Checks `v` against the option and stores it into `hub` or `provider`. Returns "" on success,
// else what was expected ("expected an integer from 0 to 65535, got \"eighty\"").
std::string assign(Option const& opt, Value const& v, HubConfig& hub, ProviderConfig& provider,
                   bool python = false);

std::string_view to_string(TokenAuth t);

}  // namespace nbhub::config
