#include "http/listener.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>

#include "http/access_log.hpp"
#include "http/body_limit.hpp"
#include "http/read_head.hpp"
#include "http/tls_stream.hpp"
#include "tls/server_tls.hpp"

namespace nbhub::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

Listener::Listener(net::io_context& ioc, Router const& router, ListenerOptions opts,
                   spdlog::logger& access_log, spdlog::logger& log)
    : ioc_(ioc), router_(router), opts_(std::move(opts)), access_(access_log), log_(log),
      acceptor_(net::make_strand(ioc)),
      reaper_(ioc.get_executor(), DeadlineReaper::tick_for(std::min<DeadlineReaper::Clock::duration>(
                                      opts_.limits.idle_timeout, opts_.limits.request_timeout))) {}

void Listener::bind(std::string const& ip, std::uint16_t port) {
  boost::system::error_code ec;
  auto addr = ip.empty() ? net::ip::address(net::ip::address_v6::any())
                         : net::ip::make_address(ip, ec);
  if (ec) throw std::runtime_error(fmt::format("{} listener: '{}' is not an IP address", opts_.name, ip));
  tcp::endpoint ep{addr, port};
  acceptor_.open(ep.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  if (addr.is_v6() && ip.empty()) acceptor_.set_option(net::ip::v6_only(false), ec);
  acceptor_.bind(ep, ec);
  if (ec)
    throw std::runtime_error(fmt::format(
        "{} listener: cannot bind {}:{}: {}{}", opts_.name, ip.empty() ? "*" : ip, port, ec.message(),
        ec == net::error::address_in_use ? " (another program holds that port: stop it or choose another port)" : ""));
  acceptor_.listen(net::socket_base::max_listen_connections);
}

std::uint16_t Listener::port() const { return acceptor_.local_endpoint().port(); }

void Listener::start() {
  net::co_spawn(acceptor_.get_executor(), accept_loop(), [this](std::exception_ptr e) {
    if (!e) return;
    try { std::rethrow_exception(e); } catch (std::exception const& ex) {
      log_.error("{} listener stopped: {}", opts_.name, ex.what());
    }
  });
}

void Listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
  });
}

net::awaitable<void> Listener::accept_loop() {
  auto self = shared_from_this();
  for (;;) {
    boost::system::error_code ec;
    auto exec = opts_.single_thread ? net::any_io_executor(ioc_.get_executor())
                                    : net::any_io_executor(net::make_strand(ioc_));
    // The peer's address comes with accept(2): no getpeername(2) per connection.
    tcp::endpoint peer;
    auto sock = co_await acceptor_.async_accept(exec, peer, net::redirect_error(net::use_awaitable, ec));
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      log_.warn("{} listener: accept failed: {}", opts_.name, ec.message());
      continue;
    }
    auto id = next_id_++;
    if (open_connections_ >= opts_.limits.max_connections) {
      log_.warn("{} listener: {} connections open (http.max_connections); refusing conn={}",
                opts_.name, open_connections_.load(), id);
      continue;  // the socket closes here
    }
    // The connection's own strand (or the single thread's executor).
    net::co_spawn(sock.get_executor(), serve(std::move(sock), peer, id), [this, self, id](std::exception_ptr e) {
      if (!e) return;
      try { std::rethrow_exception(e); } catch (std::exception const& ex) {
        log_.error("conn={} ended by an exception: {}", id, ex.what());
      }
    });
  }
}

namespace {

// trusted_proxies entries are addresses ("10.0.0.5") or CIDR ranges ("10.0.0.0/16", "fd00::/8").
bool is_trusted(std::vector<std::string> const& trusted, std::string const& ip) {
  if (trusted.empty()) return false;  // the usual case, asked on every request: skip the parse
  boost::system::error_code ec;
  auto addr = net::ip::make_address(ip, ec);
  if (ec) return false;
  for (auto const& t : trusted) {
    if (t == ip) return true;
    if (t.find('/') == std::string::npos) continue;
    if (addr.is_v4()) {
      auto range = net::ip::make_network_v4(t, ec);
      if (!ec && net::ip::network_v4(addr.to_v4(), range.prefix_length()).canonical() == range.canonical())
        return true;
    } else {
      auto range = net::ip::make_network_v6(t, ec);
      if (!ec && net::ip::network_v6(addr.to_v6(), range.prefix_length()).canonical() == range.canonical())
        return true;
    }
  }
  return false;
}

// Peer address without the IPv4-mapped IPv6 prefix.
std::string peer_ip(tcp::endpoint const& ep) {
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

template <class Fields>
ClientView client_view(Fields const& req, std::string const& peer, ListenerOptions const& opts,
                       std::uint64_t id, bool tls) {
  ClientView c{peer, std::string(req[bhttp::field::host]), opts.public_https || tls, id};
  c.tls = tls;
  if (!is_trusted(opts.trusted_proxies, peer)) return c;
  // Behind a TLS-terminating load balancer (the AWS ALB setup): believe its headers.
  auto proto = req["X-Forwarded-Proto"];
  if (!proto.empty() && !tls) c.secure = beast::iequals(proto.substr(0, proto.find(',')), "https");
  auto fhost = req["X-Forwarded-Host"];
  if (!fhost.empty()) c.host = std::string(fhost.substr(0, fhost.find(',')));
  auto ffor = req["X-Forwarded-For"];
  if (!ffor.empty()) {
    auto first = ffor.substr(0, ffor.find(','));
    while (!first.empty() && first.front() == ' ') first.remove_prefix(1);
    c.remote_ip = std::string(first);
  }
  return c;
}

Response limit_response(boost::system::error_code ec) {
  if (ec == bhttp::error::header_limit)
    return json_error(431, "Request header too large (http.header_limit_bytes).");
  if (ec == bhttp::error::body_limit)
    return json_error(413, "Request body too large (http.body_limit_bytes).");
  return json_error(400, "Malformed HTTP request.");
}

// Writes `head` with chunked transfer coding, then each piece of `body` as a chunk, then the
// last chunk; to an HTTP/1.0 client, the pieces as they are and then the close ends the body.
// Each write must finish within `timeout`; the pieces are produced on `exec` when given (where
// the handler ran). Returns the first write's error, if any.
template <class Stream>
net::awaitable<boost::system::error_code> write_streamed(Stream& stream, Response& head, BodyStream& body,
                                                         std::chrono::seconds timeout,
                                                         std::optional<net::any_io_executor> const& exec) {
  boost::system::error_code ec;
  bool const chunked = head.version() >= 11;
  if (chunked) head.chunked(true);
  else head.keep_alive(false);
  bhttp::response_serializer<bhttp::string_body> sr{head};
  beast::get_lowest_layer(stream).expires_after(timeout);
  co_await bhttp::async_write_header(stream, sr, net::redirect_error(net::use_awaitable, ec));
  while (!ec) {
    std::optional<std::string> piece;
    if (exec) {
      piece = co_await net::co_spawn(*exec, body.next(), net::use_awaitable);
    } else {
      piece = co_await body.next();
    }
    beast::get_lowest_layer(stream).expires_after(timeout);
    if (!piece) {
      if (chunked) co_await net::async_write(stream, bhttp::make_chunk_last(), net::redirect_error(net::use_awaitable, ec));
      break;
    }
    if (piece->empty()) continue;
    if (chunked) {
      co_await net::async_write(stream, bhttp::make_chunk(net::buffer(*piece)), net::redirect_error(net::use_awaitable, ec));
    } else {
      co_await net::async_write(stream, net::buffer(*piece), net::redirect_error(net::use_awaitable, ec));
    }
  }
  co_return ec;
}

}  // namespace

net::awaitable<void> Listener::serve(tcp::socket sock, tcp::endpoint peer_ep, std::uint64_t id) {
  ++open_connections_;
  struct Count {
    std::atomic<std::size_t>& n;
    ~Count() { --n; }
  } count{open_connections_};
  auto peer = peer_ip(peer_ep);
  if (!opts_.tls) {
    beast::tcp_stream stream(std::move(sock));
    co_await serve_requests(stream, peer, id);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    co_return;
  }
  // The context current at accept: a renewal swaps it for later connections only.
  auto ctx = opts_.tls->context();
  if (!ctx) co_return;  // no certificate yet (ACME still at work): nothing can be served
  TlsStream stream(std::move(sock), *ctx, opts_.single_thread);
  boost::system::error_code ec;
  beast::get_lowest_layer(stream).expires_after(opts_.limits.request_timeout);
  co_await stream.async_handshake(net::redirect_error(net::use_awaitable, ec));
  beast::get_lowest_layer(stream).expires_never();
  if (ec) {
    log_.debug("{} listener: conn={} TLS handshake with {} failed: {}", opts_.name, id, peer, ec.message());
    co_return;
  }
  // RFC 8737 §3: a TLS-ALPN-01 validation ends with the handshake.
  if (!tls::is_alpn_challenge(stream.native_handle())) co_await serve_requests(stream, peer, id);
  stream.shutdown_send();  // close_notify, then FIN: a client can tell the end from a truncation
}

namespace {

// Reads what the client has sent already, without waiting, into `buffer`: the bytes read; 0
// with no error when a read would wait; `wait_write` when a TLS read must send first.
std::size_t read_now(beast::tcp_stream& s, beast::flat_buffer& buffer, boost::system::error_code& ec,
                     bool& wait_write) {
  wait_write = false;
  auto room = buffer.prepare(beast::read_size(buffer, 65536));
  auto n = ::recv(s.socket().native_handle(), room.data(), room.size(), MSG_DONTWAIT);
  if (n > 0) {
    buffer.commit(static_cast<std::size_t>(n));
    return static_cast<std::size_t>(n);
  }
  if (n == 0) ec = net::error::eof;
  else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ec = {errno, boost::system::system_category()};
  return 0;
}
std::size_t read_now(TlsStream& s, beast::flat_buffer& buffer, boost::system::error_code& ec, bool& wait_write) {
  auto room = buffer.prepare(beast::read_size(buffer, 65536));
  auto n = s.read_now(room.data(), room.size(), ec, wait_write);
  buffer.commit(n);
  return n;
}

}  // namespace

template <class Stream>
net::awaitable<void> Listener::serve_requests(Stream& stream, std::string const& peer, std::uint64_t id) {
  // An idle keep-alive connection costs what this frame holds while it waits for the next
  // request (bench/stress's idle row): the buffer object without storage, the deadline and the
  // wait. The request itself, its parsers, response and the proxy's exchange live in
  // serve_one's frame, which exists only while a request is served.
  beast::flat_buffer buffer;
  Deadline head_deadline(reaper_);  // declared after `stream`: it stops watching before the close
  head_deadline.watch(&socket_of(stream), nullptr);
  for (;;) {
    if (buffer.size() == 0) {
      // The next request of a kept-alive connection is rarely there the moment the response
      // went out: the other ready handlers run first (one post, as Asio's own read completion
      // costs), and then what has arrived is read at once. Reading before that mostly found
      // nothing and waited: an epoll_ctl and a wake-up per request (bench/proxy's TLS 1k row:
      // 16 instead of 13 µs of CPU per request).
      co_await net::post(stream.get_executor(), net::use_awaitable);
      boost::system::error_code ec;
      bool wait_write = false;
      auto n = read_now(stream, buffer, ec, wait_write);
      if (ec) break;  // closed or reset between requests
      if (n == 0 && !wait_write) {
        buffer.shrink_to_fit();  // nothing held while idle
        // The wait for the first byte of a request is bounded by the idle timeout; read_head
        // then bounds the whole head by the request timeout from that byte on.
        if (!head_deadline.start(opts_.limits.idle_timeout, Deadline::Side::client)) break;
        auto& sock = socket_of(stream);
        if (opts_.single_thread) {
          // One reactor thread, and it is this one: no readiness edge can pass between the
          // read above and this wait (see TlsStream::wait_read).
          co_await sock.async_wait(tcp::socket::wait_read, net::redirect_error(net::use_awaitable, ec));
        } else {
          char peek = 0;
          co_await sock.async_receive(net::buffer(&peek, 1), net::socket_base::message_peek,
                                      net::redirect_error(net::use_awaitable, ec));
        }
        if (ec) break;  // closed, reset, or the idle timeout shut the socket down
        // Read here, at once: read_head's own first read would complete through the scheduler.
        read_now(stream, buffer, ec, wait_write);
        if (ec) break;
      }
    }
    if (!co_await serve_one(stream, buffer, head_deadline, peer, id)) break;
  }
}

template <class Stream>
net::awaitable<bool> Listener::serve_one(Stream& stream, beast::flat_buffer& buffer, Deadline& head_deadline,
                                         std::string const& peer, std::uint64_t id) {
  constexpr bool tls = is_tls_v<Stream>;
  auto const& lim = opts_.limits;
  boost::system::error_code ec;
  HeadParser head;
  head.header_limit(static_cast<std::uint32_t>(lim.header_limit_bytes));
  head.body_limit(boost::none);  // the proxy streams any size; the router's parser is bounded

  // The first byte is at hand (serve_requests waited for it): the whole head must be read
  // within the request deadline.
  ec = co_await read_head(raw_stream(stream), buffer, head, head_deadline, Deadline::Side::client,
                          lim.request_timeout, lim.request_timeout);
  head_deadline.disarm();
  if (!ec && opts_.interceptor && opts_.interceptor->claims(head)) {
    auto client = client_view(head.get(), peer, opts_, id, tls);
    client.single_thread = opts_.single_thread;
    if (opts_.request_ids)
      client.request_id = request_ids_.choose(head.get()["X-Request-Id"], is_trusted(opts_.trusted_proxies, peer));
    co_return co_await opts_.interceptor->serve(stream, buffer, head, std::move(client));
  }
  std::optional<bhttp::request_parser<bhttp::string_body>> body_parser;
  if (!ec) {
    body_parser.emplace(std::move(head));
    limit_body(*body_parser, lim.body_limit_bytes, ec);
    beast::get_lowest_layer(stream).expires_after(lim.request_timeout);
    auto const& h = body_parser->get();
    if (!ec && beast::iequals(h[bhttp::field::expect], "100-continue")) {
      static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
      co_await net::async_write(stream, net::buffer(k100), net::redirect_error(net::use_awaitable, ec));
    }
    if (!ec) co_await bhttp::async_read(stream, buffer, *body_parser, net::redirect_error(net::use_awaitable, ec));
  }
  if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
      ec == beast::error::timeout || ec == net::error::connection_reset || ec == net::error::eof ||
      ec == net::ssl::error::stream_truncated) {
    // Expected closes (STYLE.md §6.8); a TLS client closing without close_notify between
    // requests is common (browsers, wrk) and no more a bad request than a plain close.
    co_return false;
  }
  if (ec) {
    log_.debug("conn={} bad request from {}: {}", id, peer, ec.message());
    auto res = limit_response(ec);
    res.keep_alive(false);
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(lim.request_timeout);
    co_await bhttp::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
    co_return false;
  }

  auto req = body_parser->release();
  auto started = std::chrono::steady_clock::now();
  auto client = client_view(req, peer, opts_, id, tls);
  if (opts_.request_ids)
    client.request_id = request_ids_.choose(req["X-Request-Id"], is_trusted(opts_.trusted_proxies, peer));
  // (An if, not ?: with co_await in both arms: GCC 12 miscompiles that.)
  Reply reply;
  if (opts_.handler_executor) {
    reply = co_await net::co_spawn(*opts_.handler_executor, dispatch(req, client), net::use_awaitable);
  } else {
    reply = co_await dispatch(req, client);
  }
  auto& res = reply.res;
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  if (client.secure && opts_.hsts_max_age.count() > 0)
    res.set(bhttp::field::strict_transport_security, fmt::format("max-age={}", opts_.hsts_max_age.count()));
  if (!client.request_id.empty()) res.set("X-Request-Id", client.request_id);
  if (reply.stream && req.method() != bhttp::verb::head) {
    ec = co_await write_streamed(stream, res, *reply.stream, lim.request_timeout, opts_.handler_executor);
  } else {
    if (req.method() == bhttp::verb::head) {
      auto n = res.body().size();
      res.body().clear();
      if (!reply.stream) res.content_length(n);  // a stream's length is not known
    } else {
      res.prepare_payload();
    }
    beast::get_lowest_layer(stream).expires_after(lim.request_timeout);
    co_await bhttp::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
  }
  beast::get_lowest_layer(stream).expires_never();  // the next head is read from the socket, an interceptor uses it raw
  auto const took = std::chrono::steady_clock::now() - started;
  if (opts_.observer) opts_.observer({req.method(), reply.route, res.result_int(), took});
  auto ms = std::chrono::duration<double, std::milli>(took).count();
  write_access(access_, opts_.access_json,
               {.method = req.method_string(), .target = req.target(), .status = res.result_int(), .ms = ms,
                .remote = peer, .conn = id, .request_id = client.request_id});
  co_return !ec && res.keep_alive();
}

net::awaitable<Listener::Reply> Listener::dispatch(Request const& req, ClientView const& client) {
  auto parsed = boost::urls::parse_origin_form(req.target());
  if (!parsed) co_return Reply{json_error(400, "The request target is not a valid path.")};
  Context ctx{.req = req};
  ctx.raw_target = std::string(req.target());
  ctx.path = parsed->path();
  for (auto p : parsed->params()) ctx.query.emplace(p.key, p.value);
  ctx.remote_ip = client.remote_ip;
  ctx.conn_id = client.conn_id;
  ctx.secure = client.secure;
  ctx.host = client.host;
  auto id = client.conn_id;

  auto found = router_.find(req.method(), ctx.path);
  Handler const* handler = nullptr;
  if (found.match == Router::Match::found) {
    handler = found.handler;
    ctx.params = std::move(found.params);
  } else if (found.match == Router::Match::wrong_method) {
    auto res = json_error(405, "Method not allowed here.");
    res.set(bhttp::field::allow, found.allowed);
    if (auto const& decorate = router_.decorator()) decorate(ctx, res);
    co_return Reply{std::move(res)};
  } else {
    handler = router_.fallback();
  }
  if (!handler) co_return Reply{json_error(404, "Not found.")};
  try {
    auto res = co_await (*handler)(ctx);
    if (auto const& decorate = router_.decorator()) decorate(ctx, res);
    co_return Reply{std::move(res), std::move(ctx.body_stream), found.pattern};
  } catch (std::exception const& e) {
    // Handlers return errors as values; an exception here is a bug, never a secret leak.
    log_.error("conn={} {} {}: unhandled exception: {}", id, std::string_view(req.method_string()),
               ctx.path, e.what());
  }
  co_return Reply{json_error(500, "Internal error; the hub log has details.")};
}

}  // namespace nbhub::http
