#pragma once
// Reads one HTTP message head into a parser with plain reads on the socket: the listener's
// request heads (Beast's request parser) and the proxy's upstream response heads
// (proxy::UpstreamResponseParser). Beast's http::async_read_header on a tcp_stream costs three
// layers of composed operations and a timer armed and cancelled per read; here one Deadline
// (deadline.hpp) bounds the wait.
//
// `Parser` offers Beast's parser calls: put(const_buffer, ec) -> bytes used (need_more until
// the head is complete), put_eof(ec), got_some(), is_header_done(). Errors are as Beast's
// read: end_of_stream for a close before any byte, partial_message for a close inside a head,
// header_limit when the buffer is full, the parser's own errors, beast::error::timeout.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>

#include "http/deadline.hpp"

namespace nbhub::http {

// The wait for the first byte is bounded by `wait` (a kept-alive connection's idle timeout),
// the rest of the head by `head` from the first byte on; bytes already in `buffer` count as
// a first byte. The deadline is left armed: the caller's next operation re-arms or disarms it.
// `Stream`: a tcp::socket, or a TLS stream (http/tls_stream.hpp) whose socket the deadline
// watches.
template <class Stream, class Parser>
boost::asio::awaitable<boost::system::error_code> read_head(Stream& sock,
                                                            boost::beast::flat_buffer& buffer, Parser& parser,
                                                            Deadline& deadline, Deadline::Side side,
                                                            Deadline::Clock::duration wait,
                                                            Deadline::Clock::duration head) {
  namespace bhttp = boost::beast::http;
  boost::system::error_code ec;
  bool started = buffer.size() != 0;
  if (!deadline.start(started ? head : wait, side)) co_return boost::beast::error::timeout;
  for (;;) {
    if (buffer.size() != 0) {
      buffer.consume(parser.put(buffer.data(), ec));
      if (ec != bhttp::error::need_more) break;  // the head is complete, or malformed or too large
      ec = {};
    }
    auto room = boost::beast::read_size(buffer, 65536);
    if (room == 0) {
      ec = bhttp::error::header_limit;
      break;
    }
    auto n = co_await sock.async_read_some(buffer.prepare(room),
                                           boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    buffer.commit(n);
    if (ec == boost::asio::error::eof) {
      ec = {};
      if (!parser.got_some() && buffer.size() == 0) {
        ec = bhttp::error::end_of_stream;
        break;
      }
      if (buffer.size() != 0) buffer.consume(parser.put(buffer.data(), ec));
      if (!ec || ec == bhttp::error::need_more) parser.put_eof(ec);
      if (!ec && !parser.is_header_done()) ec = bhttp::error::partial_message;
      break;
    }
    if (ec) break;
    if (!started) {
      started = true;
      if (head != wait && !deadline.start(head, side)) {
        ec = boost::beast::error::timeout;
        break;
      }
    }
  }
  if (ec && deadline.expired()) ec = boost::beast::error::timeout;
  co_return ec;
}

}  // namespace nbhub::http
