#pragma once
// The layers above the config file, and the checks that need the whole configuration.
// Internal to config/; main uses load.hpp.
#include <map>
#include <string>

#include "config/builder.hpp"
#include "config/cli.hpp"

namespace nbhub::config {

using Env = std::map<std::string, std::string>;

// Providers without a name are named after their kind (before the environment layer, whose
// provider variables address providers by name).
void name_providers(ConfigBuilder& b);

// NBHUB_<SECTION>_<KEY> and NBHUB_AUTH_PROVIDER_<NAME>_<KEY>. A variable that looks like a
// misspelt option gets a warning; other NBHUB_* variables (NBHUB_CRYPT_KEY, test harness
// variables) are left alone.
void apply_env(Env const& env, ConfigBuilder& b);

// Command-line flags, the top layer.
void apply_flags(CliInvocation const& cli, ConfigBuilder& b);

// OAuthenticator's environment defaults (OAUTH_CLIENT_ID, OAUTH2_TOKEN_URL, CUSTOS_HOST, ...):
// they fill provider options that no layer set, and only when exactly one provider exists.
void apply_compat_env(Env const& env, ConfigBuilder& b);

struct CompatEnvVar {
  std::string_view name;
  std::string_view option;  // provider option it fills
  std::string_view kinds;   // "" = every kind, else a space-separated list
  std::string_view note;
};
std::span<const CompatEnvVar> compat_env_vars();

// client_secret_file -> client_secret (a secret set in a higher layer wins; both in one layer is
// an error).
void read_secret_files(ConfigBuilder& b);

// Checks that need the whole configuration; every problem is reported.
void validate(ConfigBuilder& b);

}  // namespace nbhub::config
