#pragma once
// `nbhub [-f CONFIG] acme [--once] [--out-dir DIR]`: runs the ACME manager (acme/acme_manager.hpp) of the
// configuration's [tls.acme] without the rest of the hub, answering HTTP-01 challenges on
// tls.acme.http_port. With --once: one round, then exit 0 (prints the outcome: current,
// picked_up, obtained, waiting) or 1 (prints the error). Without: rounds until SIGINT/SIGTERM.
// --out-dir writes each certificate it serves as DIR/fullchain.pem and DIR/privkey.pem (0600,
// replaced by rename), for a listener that reads files (ssl_cert/ssl_key) or another server.
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/random.hpp"

namespace nbhub::app {

// host:pid:random, so an operator can tell an ACME lease's holder (the hub uses it too).
std::string acme_holder_id(Random& random);

int run_acme_command(config::HubConfig const& cfg, std::vector<std::string> const& args);

}  // namespace nbhub::app
