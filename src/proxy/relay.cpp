#include "proxy/relay.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "http/read_head.hpp"
#include "proxy/forwarded_headers.hpp"
#include "proxy/upstream_response_parser.hpp"

namespace nbhub::proxy {

namespace net = boost::asio;
namespace beast = boost::beast;
using beast::error_code;
using tcp = net::ip::tcp;
using Failure = ExchangeOutcome::Failure;

namespace {

constexpr auto kAwait = net::use_awaitable;
constexpr auto kClient = http::Deadline::Side::client;
constexpr auto kUpstream = http::Deadline::Side::upstream;

bool expected_close(error_code const& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == net::error::connection_aborted;
}

void fail(ExchangeOutcome& out, Failure f, std::string_view what, error_code const& ec) {
  out.failure = f;
  out.detail = std::string(what) + ": " + ec.message();
}

// An operation the deadline cut short reports a timeout, whatever the socket said.
error_code timed(http::Deadline const& d, error_code ec) {
  return ec && d.expired() ? error_code(beast::error::timeout) : ec;
}

Buffers one(std::string_view s) {
  Buffers b;
  b[0] = net::buffer(s);
  return b;
}

// Writes what the client socket takes now, as send_now; through OpenSSL on a TLS stream.
std::size_t client_send_now(tcp::socket& s, Buffers const& bufs, error_code& ec) {
  return send_now(s.native_handle(), bufs, ec);
}
std::size_t client_send_now(http::TlsStream& s, Buffers const& bufs, error_code& ec) {
  return s.write_now(bufs, ec);
}

// Reads what the client socket holds now, without waiting: the bytes read, 0 with no error
// when nothing is there; eof at the end of the stream. A TLS stream always answers 0 (its
// async_read_some tries OpenSSL at once anyway).
std::size_t client_read_now(tcp::socket& s, char* data, std::size_t size, error_code& ec) {
  auto n = ::recv(s.native_handle(), data, size, MSG_DONTWAIT);
  if (n > 0) return static_cast<std::size_t>(n);
  if (n == 0) {
    ec = net::error::eof;
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    ec = error_code(errno, boost::system::system_category());
  }
  return 0;
}
std::size_t client_read_now(http::TlsStream&, char*, std::size_t, error_code&) { return 0; }

// How many body reads in a row may complete without waiting before the relay lets the
// scheduler run other connections: 16 pieces (1 MiB with the default buffer).
constexpr int kReadsBeforeYield = 16;

Failure upstream_failure(error_code const& ec) {
  return ec == beast::error::timeout ? Failure::upstream_timeout : Failure::upstream_unavailable;
}

}  // namespace

template <class ClientIo>
net::awaitable<ExchangeOutcome> Relay::exchange(ClientIo& client, beast::flat_buffer& cbuf,
                                                RequestParser& req, HeadBuffer& head, bool expect_continue,
                                                bool client_keep_alive, bool websocket, UpstreamPtr& up_ptr,
                                                Route const& route, std::string_view request_id, char* chunk,
                                                http::Deadline& deadline) {
  ExchangeOutcome out;
  auto& up = *up_ptr;
  error_code ec;

  // The request: its head, then its body through `chunk`, framed as it came (chunked or not).
  {
    auto const& bufs = one(head.view());
    auto sent = send_now(up.socket.native_handle(), bufs, ec);
    if (!ec && sent < total_size(bufs)) {
      if (!deadline.start(cfg_.stall_timeout, kUpstream)) ec = beast::error::timeout;
      if (!ec) co_await net::async_write(up.socket, suffix(bufs, sent), net::redirect_error(kAwait, ec));
    }
  }
  if (ec) {
    // Nothing reached the upstream: on a pooled connection this is the stale case.
    out.stale = up.reused;
    ec = timed(deadline, ec);
    fail(out, upstream_failure(ec), "write request head", ec);
    co_return out;
  }
  if (!req.is_done() && expect_continue) {
    static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
    if (!deadline.start(cfg_.stall_timeout, kClient)) ec = beast::error::timeout;
    if (!ec) co_await net::async_write(client, net::buffer(k100), net::redirect_error(kAwait, ec));
    if (ec) {
      fail(out, Failure::client_gone, "write 100 Continue", timed(deadline, ec));
      co_return out;
    }
  }
  bool request_read = req.is_done();
  if (!request_read && !req.chunked()) {
    // A Content-Length body is relayed without Beast's parser: bytes already buffered go
    // upstream from `cbuf` as they are, the rest is read straight into `chunk` with a plain
    // non-blocking read, and only a read that would block waits. Through the parser each piece
    // was read into `cbuf`, copied into `chunk`, and its completion posted through the
    // scheduler (the upload row of bench/stress). The parser is left short of its body, so
    // `request_read` (not req.is_done()) says whether the whole request was read.
    out.body_started = true;
    std::uint64_t left = req.content_length_remaining().value_or(0);
    int in_a_row = 0;  // reads completed without waiting, since the last suspension
    while (left != 0) {
      char const* data = chunk;
      std::size_t n = 0;
      bool const buffered = cbuf.size() != 0;
      if (buffered) {
        n = static_cast<std::size_t>(std::min<std::uint64_t>(cbuf.size(), left));
        data = static_cast<char const*>(cbuf.data().data());
      } else {
        auto const want = static_cast<std::size_t>(std::min<std::uint64_t>(cfg_.buffer_bytes, left));
        n = client_read_now(client, chunk, want, ec);
        if (!ec && n == 0) {
          if (!deadline.start(cfg_.stall_timeout, kClient)) ec = beast::error::timeout;
          if (!ec) n = co_await client.async_read_some(net::buffer(chunk, want), net::redirect_error(kAwait, ec));
          deadline.disarm();
          in_a_row = 0;
        } else if (!ec && ++in_a_row == kReadsBeforeYield) {
          // A client that always has the next piece ready must not keep the thread from the
          // other connections: let the scheduler run once in a while (Asio's own reads post
          // every completion).
          in_a_row = 0;
          co_await net::post(client.get_executor(), kAwait);
        }
        if (ec) {
          fail(out, Failure::client_gone, "read request body", timed(deadline, ec));
          co_return out;
        }
      }
      stats_.note_buffered(n);
      stats_.bytes_to_upstream.fetch_add(n, std::memory_order_relaxed);
      {
        auto const& bufs = one(std::string_view(data, n));
        auto sent = send_now(up.socket.native_handle(), bufs, ec);
        if (!ec && sent < total_size(bufs)) {
          if (!deadline.start(cfg_.stall_timeout, kUpstream)) ec = beast::error::timeout;
          if (!ec) co_await net::async_write(up.socket, suffix(bufs, sent), net::redirect_error(kAwait, ec));
          deadline.disarm();
          in_a_row = 0;
        }
      }
      if (ec) {
        ec = timed(deadline, ec);
        fail(out, upstream_failure(ec), "write request body", ec);
        break;
      }
      if (buffered) cbuf.consume(n);
      left -= n;
    }
    request_read = left == 0;
  } else if (!request_read) {
    out.body_started = true;
    // Beast reads at most the buffer's free capacity per call: without room, a body arrives
    // a few KiB per system call.
    cbuf.reserve(cfg_.buffer_bytes);
    Framer framer(true);
    auto& body = req.get().body();
    for (;;) {
      std::size_t n = 0;
      if (!req.is_done()) {
        body.data = chunk;
        body.size = cfg_.buffer_bytes;
        if (!deadline.start(cfg_.stall_timeout, kClient)) ec = beast::error::timeout;
        if (!ec) co_await bhttp::async_read_some(client, cbuf, req, net::redirect_error(kAwait, ec));
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec) {
          fail(out, Failure::client_gone, "read request body", timed(deadline, ec));
          co_return out;
        }
        n = cfg_.buffer_bytes - body.size;
        stats_.note_buffered(n);
        stats_.bytes_to_upstream.fetch_add(n, std::memory_order_relaxed);
        if (n == 0 && !req.is_done()) continue;  // only framing was parsed (a chunk header)
      }
      {
        auto const& bufs = framer.frame({}, chunk, n, req.is_done());
        auto sent = send_now(up.socket.native_handle(), bufs, ec);
        if (!ec && sent < total_size(bufs)) {
          if (!deadline.start(cfg_.stall_timeout, kUpstream)) ec = beast::error::timeout;
          if (!ec) co_await net::async_write(up.socket, suffix(bufs, sent), net::redirect_error(kAwait, ec));
        }
      }
      if (ec) {
        // An upstream that answers early (413, 401) and stops reading still has its say:
        // the response head is read below.
        ec = timed(deadline, ec);
        fail(out, upstream_failure(ec), "write request body", ec);
        break;
      }
      if (req.is_done()) break;
    }
    request_read = req.is_done();
  }
  out.request_read = request_read;
  bool const request_complete = out.failure == Failure::none;
  auto const head_request = req.get().method() == bhttp::verb::head;
  auto const version = req.get().version() == 10 ? 10u : 11u;

  // The response head, written into `head` as it is parsed; interim 1xx responses other
  // than 101 are read and dropped.
  ec = {};
  std::optional<UpstreamResponseParser> rp;
  for (;;) {
    rp.emplace(head, version, websocket, !request_id.empty());
    rp->header_limit(cfg_.header_limit_bytes);
    if (head_request) rp->skip(true);
    ec = co_await http::read_head(up.socket, up.buffer, *rp, deadline, kUpstream, cfg_.response_header_timeout,
                                  cfg_.response_header_timeout);
    if (ec) break;
    auto s = rp->status();
    if (s < 100 || s >= 200 || s == 101) break;
  }
  if (ec) {
    if (!request_complete) co_return out;  // the write error explains it better
    ec = timed(deadline, ec);
    if (ec == beast::error::timeout) {
      fail(out, Failure::upstream_timeout, "read response head", ec);
    } else if (expected_close(ec)) {
      out.stale = up.reused && !out.body_started;
      fail(out, Failure::upstream_unavailable, "read response head", ec);
    } else {
      fail(out, Failure::upstream_invalid, "read response head", ec);
    }
    co_return out;
  }
  out.failure = Failure::none;
  auto const status = rp->status();
  bool upstream_keep_alive = rp->keep_alive() && request_complete;

  if (status == 101) {
    if (!websocket) {
      fail(out, Failure::upstream_invalid, "response head", bhttp::error::bad_status);
      co_return out;
    }
    append_request_id(head, request_id);
    head += "\r\n";
    {
      auto const& bufs = one(head.view());
      auto sent = client_send_now(client, bufs, ec);
      if (!ec && sent < total_size(bufs)) {
        if (!deadline.start(cfg_.stall_timeout, kClient)) ec = beast::error::timeout;
        if (!ec) co_await net::async_write(client, suffix(bufs, sent), net::redirect_error(kAwait, ec));
      }
    }
    out.status = status;
    if (ec) {
      fail(out, Failure::client_gone, "write 101", timed(deadline, ec));
      co_return out;
    }
    out.response_started = true;
    out.upgraded = true;
    co_return out;
  }

  // Framing towards the client follows the client's version (see the header comment).
  bool client_keep = client_keep_alive && request_complete && request_read;
  bool const has_body = !head_request && status != 204 && status != 304 && status >= 200;
  bool chunked_out = false;
  if (has_body && (rp->chunked() || !rp->content_length())) {
    if (!rp->chunked()) upstream_keep_alive = false;  // the upstream delimits this body by closing
    if (version == 11) {
      chunked_out = true;
      // With other codings (gzip, chunked) the upstream's line was kept as it was.
      if (!rp->other_codings()) head += "Transfer-Encoding: chunked\r\n";
    } else {
      // HTTP/1.0: the body is sent raw and ends with the connection. (A "gzip, chunked"
      // upstream body to an HTTP/1.0 client would keep its chunked label: not handled.)
      client_keep = false;
    }
  }
  append_request_id(head, request_id);
  if (version == 11 && !client_keep) head += "Connection: close\r\n";
  if (version == 10 && client_keep) head += "Connection: keep-alive\r\n";
  head += "\r\n";
  out.status = status;
  out.client_keep_alive = client_keep;

  auto park_if_done = [&] {
    if (upstream_keep_alive && rp->is_done() && up_ptr && up_ptr->buffer.size() == 0) {
      deadline.watch(&http::socket_of(client), nullptr);
      pool_.put(std::move(up_ptr));  // `up` must not be touched after this
      out.upstream_parked = true;
    }
  };
  park_if_done();  // no body, or an empty one: the upstream is done already

  // The head goes out with the first body bytes in one write, unless none are at hand: a
  // streaming response (events, long polls) must not hold its head back until its first event.
  std::string_view pending_head = head.view();
  bool const waiting = has_body && !rp->is_done() && up.buffer.size() == 0 && up.socket.available(ec) == 0;
  if (!has_body || waiting) {
    {
      auto const& bufs = one(pending_head);
      auto sent = client_send_now(client, bufs, ec);
      if (!ec && sent < total_size(bufs)) {
        if (!deadline.start(cfg_.stall_timeout, kClient)) ec = beast::error::timeout;
        if (!ec) co_await net::async_write(client, suffix(bufs, sent), net::redirect_error(kAwait, ec));
      }
    }
    if (ec) {
      fail(out, Failure::client_gone, "write response head", timed(deadline, ec));
      co_return out;
    }
    out.response_started = true;
    pending_head = {};
    if (!has_body) co_return out;
  }
  ec = {};
  Framer framer(chunked_out);
  bool nodelay = http::is_tls_v<ClientIo>;  // a TLS stream sets TCP_NODELAY when it is made
  for (;;) {
    std::size_t n = 0;
    if (!rp->is_done()) {
      rp->output(chunk, cfg_.buffer_bytes);
      // Bytes already at hand (a small body arrives with its head) are parsed here, as Beast's
      // read_some would, but without its completion by post(): that is one more trip through
      // the scheduler and the strand per response. Only when they are not enough, read.
      bool need_read = up.buffer.size() == 0;
      if (!need_read) {
        auto used = rp->put(up.buffer.data(), ec);
        up.buffer.consume(used);
        if (ec == bhttp::error::need_more) {
          ec = {};
          need_read = true;
        }
      }
      if (need_read) {
        if (!deadline.start(cfg_.stall_timeout, kUpstream)) ec = beast::error::timeout;
        auto room = up.buffer.max_size() - up.buffer.size();
        std::size_t got = 0;
        if (!ec) got = co_await up.socket.async_read_some(up.buffer.prepare(room), net::redirect_error(kAwait, ec));
        up.buffer.commit(got);
        if (ec == net::error::eof) {
          ec = {};
          rp->put_eof(ec);  // ends a body delimited by the close; anything else was cut short
        } else if (!ec) {
          up.buffer.consume(rp->put(up.buffer.data(), ec));
          if (ec == bhttp::error::need_more) ec = {};
        }
      }
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) {
        fail(out, out.response_started ? Failure::upstream_broken : Failure::upstream_invalid,
             "read response body", timed(deadline, ec));
        co_return out;
      }
      n = rp->used();
      stats_.note_buffered(n + up.buffer.size());
      stats_.bytes_to_client.fetch_add(n, std::memory_order_relaxed);
      if (n == 0 && !rp->is_done()) continue;
      park_if_done();
    }
    bool const last = rp->is_done();
    {
      auto const& bufs = framer.frame(pending_head, chunk, n, last);
      auto sent = client_send_now(client, bufs, ec);
      if (!ec && sent < total_size(bufs)) {
        if (!deadline.start(cfg_.stall_timeout, kClient)) ec = beast::error::timeout;
        if (!ec) co_await net::async_write(client, suffix(bufs, sent), net::redirect_error(kAwait, ec));
      }
    }
    if (ec) {
      fail(out, Failure::client_gone, "write response body", timed(deadline, ec));
      co_return out;
    }
    pending_head = {};
    if (!last && !nodelay) {
      // A body in several writes: without TCP_NODELAY its last small segment waits for the
      // client's delayed ACK (40 ms) behind the previous one. Small responses go out in one
      // write and skip the system call. (The listener could set this once per connection.)
      net::ip::tcp::no_delay opt(true);
      http::socket_of(client).set_option(opt, ec);
      ec = {};
      nodelay = true;
    }
    out.response_started = true;
    // A long download is activity too (CHP counts every chunk); touch() keeps it cheap.
    route.touch(clock_.coarse_now());
    if (last) break;
  }
  co_return out;
}

template net::awaitable<ExchangeOutcome> Relay::exchange(tcp::socket&, beast::flat_buffer&, RequestParser&,
                                                         HeadBuffer&, bool, bool, bool, UpstreamPtr&, Route const&,
                                                         std::string_view, char*, http::Deadline&);
template net::awaitable<ExchangeOutcome> Relay::exchange(http::TlsStream&, beast::flat_buffer&, RequestParser&,
                                                         HeadBuffer&, bool, bool, bool, UpstreamPtr&, Route const&,
                                                         std::string_view, char*, http::Deadline&);

}  // namespace nbhub::proxy
