#pragma once
// The composition root (STYLE.md §5): builds every object in order from the frozen config,
// runs the io_context threads, and drains on SIGINT/SIGTERM.
#include <map>
#include <string>

#include "config/config.hpp"

namespace nbhub::app {

// Returns the process exit code: 0 after a clean shutdown, 1 when startup failed (the reason
// is logged), 2 for configuration that is invalid in ways only startup can see.
int run_hub(config::HubConfig const& cfg, std::map<std::string, std::string> const& env);

}  // namespace nbhub::app
