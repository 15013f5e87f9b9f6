#pragma once
// The proxy's slice of the configuration (STYLE.md §5). Plain data; the hub's config loader
// fills it (proxy.* options) and `nbhub proxy` fills it from configurable-http-proxy's flags.
// No limit or deadline in src/proxy/ is a literal: they all come from here (STYLE.md §6.4).
#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace nbhub::proxy {

using Millis = std::chrono::milliseconds;

struct ProxyConfig {
  // TCP connect to an upstream (one attempt per address). Expiry answers 504.
  Millis connect_timeout{5'000};
  // From the end of the request to the upstream's response head. Generous on purpose: Jupyter
  // requests such as nbconvert PDF exports take minutes (CHP #150). Expiry answers 504.
  Millis response_header_timeout{300'000};
  // A body read or write, on either side, that makes no progress for this long ends the
  // exchange. This is what bounds a stalled slow client (CHP `--timeout`).
  Millis stall_timeout{300'000};
  // A WebSocket tunnel with no bytes either way for this long is closed. Jupyter servers ping
  // kernel sockets every 30 s, so an hour only reaps dead peers.
  Millis idle_timeout{3'600'000};
  // After one side of a tunnel closes cleanly, how long the other side may still send (the
  // WebSocket close handshake) before both are closed.
  Millis close_grace{5'000};
  // A parked keep-alive upstream connection is closed after this long unused. Keep it below
  // the upstreams' own keep-alive timeouts so we rarely reuse a connection they are closing.
  Millis upstream_idle_timeout{30'000};
  // Parked keep-alive connections per upstream (host:port); 0 turns pooling off.
  std::size_t max_idle_upstream_per_target = 64;
  // HTTP bodies stream through one buffer of this size per direction, plus the upstream's
  // read buffer of the same bound: at most 2 × buffer_bytes of body per exchange in memory.
  std::size_t buffer_bytes = 64 * 1024;
  // Per direction of a WebSocket tunnel; tunnels live for hours, so this is kept small.
  std::size_t tunnel_buffer_bytes = 16 * 1024;
  // Largest upstream response head accepted (a 502 beyond it).
  std::size_t header_limit_bytes = 64 * 1024;

  // Which requests the proxy takes from the listener. Paths are compared decoded, as route
  // prefixes are. Empty: any path that matches a route. The hub sets
  // {"<base_url>user/", "<base_url>services/"} and serves the rest itself.
  std::vector<std::string> claim_prefixes;
  // Whether the default route "/" is proxied too. The hub serves unrouted paths itself
  // (false); `nbhub proxy` proxies them like CHP (true).
  bool claim_default_route = false;
  // Exact (decoded) paths never claimed, served by the listener's router instead: `nbhub
  // proxy` keeps CHP's /_chp_healthz even under a default route.
  std::vector<std::string> unclaimed_paths;

  // How X-Forwarded-* reach the upstream (with x_forward).
  enum class Forwarded {
    // The hub's proxy: -Proto, -Host and -Port say what the listener established (it applied
    // trusted_proxies, so a browser cannot claim another host); -For gets the peer appended.
    established,
    // `nbhub proxy`, as CHP (node-http-proxy's xfwd): -For, -Port and -Proto get the peer, the
    // port from Host and http/https (ws/wss for a WebSocket) appended with ","; -Host keeps
    // what the client sent, else takes Host (not on WebSockets). JupyterHub trusts these
    // through its own settings (forwarded_host_header, tornado's xheaders), so they must
    // arrive as the client sent them.
    appended,
  };
  Forwarded forwarded = Forwarded::established;

  // CHP compatibility switches (--no-x-forward, --no-prepend-path, --no-include-prefix).
  bool x_forward = true;       // add X-Forwarded-For/-Proto/-Host/-Port
  bool access_json = false;    // access lines as JSON members (log_format = "json")
  bool prepend_path = true;    // target http://h:p/base forwards /base + original path
  bool include_prefix = true;  // false: strip the route prefix before forwarding
  // Extra request headers added to every proxied request (CHP --custom-header "Name: value").
  std::vector<std::pair<std::string, std::string>> custom_headers;
};

}  // namespace nbhub::proxy
