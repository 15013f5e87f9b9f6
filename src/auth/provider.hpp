#pragma once
// Providers as data over one implementation (DESIGN.md "auth"): a preset turns a few inputs
// (a Cognito domain, a Custos host, an OIDC issuer) into endpoint URLs and defaults. Explicit
// settings always win over what a preset derives.
#include <boost/asio/awaitable.hpp>

#include "config/config.hpp"
#include "core/result.hpp"
#include "http/client.hpp"

namespace nbhub::auth {

// How people sign in through a provider: redirected to the IdP (the OAuth kinds, auth::
// LoginFlow), with a username and password on the hub's own login page (kind = "dummy" or
// "shared-password", auth::PasswordLogin), or not at all (kind = "null": the hub is used with API tokens only).
enum class SignIn { redirect, password_form, none };
SignIn sign_in_of(config::ProviderConfig const& p);

// Fills endpoints and defaults from the provider's kind. Pure; errors name the option.
Result<config::ProviderConfig> apply_preset(config::ProviderConfig p);

// OIDC discovery (`<issuer>/.well-known/openid-configuration`): fills endpoints that are still
// empty and checks that the document's `issuer` equals the configured one (OIDC Discovery §4.3).
boost::asio::awaitable<Result<void>> discover(config::ProviderConfig& p, http::HttpClient& http);

// "https://" + host unless `host` already carries a scheme (tests point presets at loopback).
std::string origin_of(std::string const& host);

}  // namespace nbhub::auth
