#pragma once
// The proxy's error pages in the hub's style (proxy.hpp ErrorResponder): a revoked share's 403
// (proxy/access_gate.hpp) and a server that does not answer (502, 503, 504). A browser gets the
// hub's page with a way back to the hub's home; API clients and WebSockets get JSON, as from
// Proxy::default_error_response.
#include <boost/asio/awaitable.hpp>

#include <string>

#include "http/message.hpp"
#include "proxy/proxy.hpp"

namespace nbhub::web {

http::Response proxy_error_page(proxy::UpstreamError const& e, std::string const& base_url);

// An ErrorResponder serving proxy_error_page; `base_url` is the hub's ("/" or "/prefix/").
proxy::ErrorResponder proxy_error_responder(std::string base_url);

}  // namespace nbhub::web
