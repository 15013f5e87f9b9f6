#pragma once
// The configuration in effect as JSON, for GET /hub/api/config (JupyterHub#4406 asked for it):
// every option with its value and where it came from, secrets redacted.
//
//   {"options": {"port": {"value": 8000, "source": {"type": "flag", "flag": "--port"}}, ...},
//    "providers": [{"name": "idp", "source": {...}, "options": {"client_id": {...}, ...}}]}
//
// Sources: {"type": "default"}; {"type": "file", "file": ..., "line": N, "option": ...} (TOML,
// jupyterhub_config.py or z2jh values; line 0 = unknown); {"type": "environment",
// "variable": ...}; {"type": "flag", "flag": ...}.
//
// Redacted ("[redacted]" in place of a non-empty value): options marked secret in the option
// table (client_secret, password); in services and load_roles every key naming a token, secret
// or password (api_token, oauth_client_secret, ...); in string tables (spawner.environment,
// spawner.options, provider parameter tables) the values of keys that look like secrets
// (TOKEN, SECRET, PASSWORD, KEY, CREDENTIAL, ...); and a password inside a URL
// (postgresql://user:[redacted]@host/db). The cookie secret and the crypt keys are never part
// of the configuration (files and NBHUB_CRYPT_KEY), so they cannot appear.
#include <boost/json/object.hpp>

#include <string_view>

#include "config/config.hpp"
#include "config/provenance.hpp"

namespace nbhub::config {

inline constexpr std::string_view kRedacted = "[redacted]";

boost::json::object config_to_json(HubConfig const& cfg, Provenance const& provenance);

// True for a name that looks like it holds a secret ("api_token", "OAUTH_CLIENT_SECRET",
// "AWS_SECRET_ACCESS_KEY", "password").
bool secret_like_name(std::string_view name);

// A URL with the password of its userinfo replaced by [redacted]; other text unchanged.
std::string redact_url_password(std::string_view url);

}  // namespace nbhub::config
