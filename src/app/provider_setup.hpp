#pragma once
// Identity providers from config to what the login parts use: presets applied, then OIDC
// discovery where an issuer is known but endpoints are not. At start-up a wrong issuer stops
// the hub with a message instead of failing every login later; on a reload it refuses the new
// configuration and the running providers stay.
#include <boost/asio/awaitable.hpp>

#include "config/config.hpp"
#include "core/result.hpp"
#include "http/client.hpp"

namespace spdlog { class logger; }

namespace nbhub::app {

// One provider, resolved; logs how it signs people in (and a TLS-verification warning).
boost::asio::awaitable<Result<config::ProviderConfig>> resolve_provider(config::ProviderConfig raw,
                                                                        http::HttpClient& http,
                                                                        spdlog::logger& log);

}  // namespace nbhub::app
