#pragma once
// A WebSocket tunnel whose client side is TLS (wss:// to the public listener with ssl_cert):
// the contract of WebSocketTunnel (websocket_tunnel.hpp) — bytes copied both ways without
// frame parsing, one read and one write in flight per direction through fixed buffers,
// a clean close passed on with close_grace for the other direction, idle_timeout — carried
// by two coroutines and a watchdog on the client connection's executor (its strand, or the
// single I/O thread). The TunnelLoop's raw recv/send cannot serve a TLS socket: the bytes
// must pass through OpenSSL. An end of the client's TLS stream without close_notify
// (browsers do that) counts as a clean close.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "core/clock.hpp"
#include "http/tls_stream.hpp"
#include "proxy/proxy_config.hpp"
#include "proxy/proxy_stats.hpp"
#include "proxy/route_table.hpp"
#include "proxy/websocket_tunnel.hpp"

namespace nbhub::proxy {

// Runs until both directions have ended. The leftovers are bytes read past the handshake
// heads (sent first). All references must outlive the awaited call.
boost::asio::awaitable<WebSocketTunnel::Result> tunnel_tls(http::TlsStream& client,
                                                           boost::asio::ip::tcp::socket& upstream,
                                                           boost::beast::flat_buffer& client_leftover,
                                                           boost::beast::flat_buffer& upstream_leftover,
                                                           ProxyConfig const& cfg, Route const& route,
                                                           Clock const& clock, ProxyStats& stats);

}  // namespace nbhub::proxy
