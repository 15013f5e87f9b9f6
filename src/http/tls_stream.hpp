#pragma once
// The two kinds of client connection the public listener serves: a plain `tcp_stream` and a
// TLS stream over one (beast::ssl_stream, whose flat_stream layer gathers a head and a body
// piece into one TLS record). Connection code is templated on the stream type and both are
// instantiated, so the plain path keeps its raw-socket shortcuts (non-blocking sends, the
// TunnelLoop) and pays nothing for TLS. `socket_of` is the TCP socket underneath either:
// for deadlines (http/deadline.hpp), socket options and the peer address.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <type_traits>

namespace nbhub::http {

using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

inline boost::asio::ip::tcp::socket& socket_of(boost::asio::ip::tcp::socket& s) noexcept { return s; }
inline boost::asio::ip::tcp::socket& socket_of(boost::beast::tcp_stream& s) noexcept { return s.socket(); }
inline boost::asio::ip::tcp::socket& socket_of(TlsStream& s) noexcept { return s.next_layer().socket(); }

template <class Stream>
inline constexpr bool is_tls_v = std::is_same_v<Stream, TlsStream>;

// What the proxy reads and writes on: the bare socket of a plain connection (its Beast
// timers are off while the proxy has it), the TLS stream itself otherwise.
template <class Stream>
using RawStream = std::conditional_t<is_tls_v<Stream>, TlsStream, boost::asio::ip::tcp::socket>;

inline boost::asio::ip::tcp::socket& raw_stream(boost::beast::tcp_stream& s) noexcept { return s.socket(); }
inline TlsStream& raw_stream(TlsStream& s) noexcept { return s; }

}  // namespace nbhub::http
