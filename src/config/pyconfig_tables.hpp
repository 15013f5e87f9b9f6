#pragma once
// The jupyterhub_config.py trait mapping, in one place: which classes nbhub knows, which
// traits map to which nbhub option, and which are known but not supported (a warning, never a
// silent default). docs/config.md "Importing jupyterhub_config.py" is generated from these
// tables (config/generate.cpp).
#include <span>
#include <string_view>
#include <vector>

namespace nbhub::config::py {

enum class Role { authenticator, spawner };

struct ClassInfo {
  std::string_view name;  // short class name, also its config section: "GenericOAuthenticator"
  Role role;
  std::string_view kind;  // provider kind, or the `spawner` option value
  std::vector<std::string_view> aliases;  // dotted import paths and entry-point names
  std::vector<std::string_view> mro;      // config sections read, base first, itself last
  std::string_view user_key;              // auth_state key holding the user info
};

// How a trait's value becomes an option value.
enum class Special {
  none,
  unsupported,      // known, not supported yet: warning, ignored
  groups_path,      // "oauth_user.groups" -> groups_claim "groups"
  basic_auth,       // True -> token_auth = "client_secret_basic", False -> "client_secret_post"
  bind_url,         // sets ip, port and base_url
  base_url,         // a leading '/' is added, as JupyterHub does
  db_url,           // postgresql+driver:// -> postgresql://
  log_level,        // also Python's numeric levels and logging.DEBUG
  hub_ip,           // hub_ip/hub_port -> hub_bind_url (when hub_bind_url is not set)
  hub_port,
  hub_connect_ip,   // hub_connect_ip/port -> hub_connect_url (when hub_connect_url is not set)
  hub_connect_port,
  days_to_seconds,  // cookie_max_age_days
  class_choice,     // authenticator_class / spawner_class
  tornado_settings, // only headers["Access-Control-Allow-Origin"] -> cors_allow_origins
  cilogon_idps,     // CILogon's idps dict keyed by entity id -> a list of tables with entity_id
};

struct TraitInfo {
  std::string_view section;    // the class that defines it ("OAuthenticator")
  std::string_view trait;
  std::string_view option;     // nbhub option: "port", "auth.admin_users"; provider options
                               // are written "providers.client_id"
  Special special = Special::none;
  std::string_view renamed_to; // a deprecated alias: the current trait name
  std::string_view note;       // for the docs and warnings
};

std::span<const ClassInfo> known_classes();
std::span<const TraitInfo> known_traits();  // JupyterHub, authenticator and unsupported traits

// Spawner traits kept verbatim in spawner_options ("DockerSpawner.image"); used for spelling
// suggestions. Unknown ones are kept too, with a warning.
std::span<const std::string_view> known_spawner_traits(std::string_view section);

// Other sections nbhub recognises but does not read, and why.
std::string_view ignored_section_reason(std::string_view section);  // "" = not one of them

// The class a value names: an imported class, a dotted string, an entry-point name
// ("generic-oauth") or a short class name. nullptr = unknown.
ClassInfo const* find_class(std::string_view name_or_path, Role role);

}  // namespace nbhub::config::py
