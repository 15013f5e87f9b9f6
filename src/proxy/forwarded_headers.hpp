#pragma once
// How a proxied message's head changes on its way through (spec §5.3, §6.3; RFC 9110 §7.6):
// hop-by-hop fields dropped, X-Forwarded-* added, the target rewritten for the route. Pure
// functions over Beast headers: no I/O.
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

#include <string>
#include <string_view>

#include "http/interceptor.hpp"
#include "proxy/head_writer.hpp"
#include "proxy/proxy_config.hpp"
#include "proxy/route_table.hpp"

namespace nbhub::proxy {

namespace bhttp = boost::beast::http;

// The path of a request target, cut at '?' and percent-decoded (into `scratch` only when it
// holds a '%'): what route prefixes are compared with.
std::string_view decoded_path(std::string_view target, std::string& scratch);

// RFC 9110 §7.6.1: drops Connection and every field it names, Proxy-Connection, Keep-Alive,
// TE and Upgrade. Content-Length and Transfer-Encoding stay: they describe the body framing
// that the serializer re-applies on the next hop. With `keep_upgrade` (a WebSocket handshake
// being relayed), Upgrade stays and Connection is set to "Upgrade".
void strip_hop_by_hop(bhttp::fields& f, bool keep_upgrade);

// Writes the head of `req` as it goes to the route's upstream, into `out`: the target for the
// route (prepend_path, include_prefix), hop-by-hop fields dropped, X-Forwarded-* as
// cfg.forwarded says (proxy_config.hpp): with `established`, X-Forwarded-For with the peer
// appended (as CHP and nginx's $proxy_add_x_forwarded_for do: upstreams read the last entry)
// and X-Forwarded-Proto, -Host and -Port replaced by what the listener established (it
// already applied trusted_proxies); with `appended`, as CHP. Then the custom headers. Host
// stays as the browser sent it (CHP's changeOrigin is off by default); Expect is dropped (the
// proxy answers 100-continue itself). `req`'s fields are edited in place (only removals,
// which allocate nothing); its target is left as received.
void write_upstream_request(bhttp::request_header<>& req, Route const& route, ProxyConfig const& cfg,
                            http::ClientView const& client, std::string_view peer_ip, bool websocket,
                            HeadBuffer& out);

// Whether an error for this request should be JSON rather than a page: JupyterHub's
// "API-looking request" test (an /api/ segment, or a client asking for JSON).
bool wants_json(bhttp::request_header<> const& req);

}  // namespace nbhub::proxy
