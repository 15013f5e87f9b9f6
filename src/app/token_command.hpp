#pragma once
// `nbhub token`: identity-provider tokens for scripts and operators (issue 6, docs/tokens.md).
//   nbhub [-f nbhub.toml] token client-credentials --provider NAME [--scope S]
//       prints an access token from the provider's token endpoint (client-credentials grant
//       with the provider's client_id/client_secret)
//   nbhub [-f nbhub.toml] token verify TOKEN|-
//       prints the token's claims and the verdict nbhub's REST API would reach (who it is, or
//       why it is refused); "-" reads the token from standard input
#include <string>
#include <vector>

#include "config/config.hpp"

namespace nbhub::app {

// Returns the exit code: 0 (token printed / token valid), 1 (refused or provider error),
// 2 (usage). `cfg` is the loaded configuration.
int run_token_command(config::HubConfig const& cfg, std::vector<std::string> const& args);

}  // namespace nbhub::app
