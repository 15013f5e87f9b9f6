#pragma once
// Pages around a user's server: home with start/stop, /hub/spawn, the spawn-pending page with
// live progress, and /hub/user/<name>/... when the proxy has no route for the server.
#include "http/router.hpp"

namespace nbhub::web {

struct ServerRouteDeps;
void add_server_pages(http::Router& router, ServerRouteDeps const& deps);

}  // namespace nbhub::web
