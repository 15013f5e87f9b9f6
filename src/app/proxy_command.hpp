#pragma once
// `nbhub proxy`: the built-in proxy on its own, as a drop-in replacement for
// configurable-http-proxy (spec §6): CHP's flags, CONFIGPROXY_AUTH_TOKEN, the REST API on the
// API listener, /_chp_healthz on the public one. JupyterHub's ConfigurableHTTPProxy can
// start it in place of `configurable-http-proxy` (c.ConfigurableHTTPProxy.command =
// ["nbhub", "proxy"]).
#include <string>
#include <vector>

namespace nbhub::app {

// `args` are the words after `proxy`. Runs until SIGINT or SIGTERM. Returns the process exit
// code: 0 after a signal, 2 for a usage error or an unsupported flag, 1 when a listener cannot
// bind.
int run_proxy_command(std::vector<std::string> const& args);

}  // namespace nbhub::app
