#include "http/client_impl.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace nbhub::http {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using beast::error_code;
using std::chrono::milliseconds;

namespace {

constexpr auto kAwait = net::use_awaitable;
constexpr std::size_t kReadRoom = 16 * 1024;  // what a response read asks the socket for, at least

// A prepared request and its Beast message, built once and shared read-only by attempts.
struct Target {
  detail::PreparedRequest p;
  bhttp::request<bhttp::string_body> req;
};

std::shared_ptr<Target const> make_target(detail::PreparedRequest p) {
  auto t = std::make_shared<Target>();
  auto& req = t->req;
  req.version(11);
  if (auto verb = bhttp::string_to_verb(p.method); verb != bhttp::verb::unknown) {
    req.method(verb);
  } else {
    req.method_string(p.method);
  }
  req.target(p.target);
  for (auto const& [name, value] : p.headers) req.insert(name, value);
  if (req.find(bhttp::field::host) == req.end()) req.set(bhttp::field::host, p.host_header);
  if (req.find(bhttp::field::user_agent) == req.end()) {
    req.set(bhttp::field::user_agent, "nbhub/" NBHUB_VERSION);
  }
  req.body() = std::move(p.body);
  req.prepare_payload();
  t->p = std::move(p);
  return t;
}

std::string describe(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

Error failure(Target const& t, Errc code, std::string const& what) {
  return Error{code, t.p.method + " " + t.p.shown + ": " + what};
}

// One connection, used by one request at a time; its I/O runs on its own strand.
using local_stream = beast::basic_stream<net::local::stream_protocol>;

struct Connection {
  Connection(net::any_io_executor strand, std::shared_ptr<ssl::context> ctx, bool unix_socket)
      : executor(strand), tls_ctx(std::move(ctx)) {
    if (unix_socket) {
      local.emplace(strand);
    } else if (tls_ctx) {
      tls.emplace(strand, *tls_ctx);
    } else {
      plain.emplace(strand);
    }
  }
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  // What the pool and the deadlines need, for TCP and unix sockets alike.
  void expires_at(SteadyClock::time_point t) {
    if (local)
      local->expires_at(t);
    else
      lowest().expires_at(t);
  }
  void expires_never() {
    if (local)
      local->expires_never();
    else
      lowest().expires_never();
  }
  bool is_open() { return local ? local->socket().is_open() : lowest().socket().is_open(); }
  int native_handle() {
    return local ? local->socket().native_handle() : lowest().socket().native_handle();
  }

  net::any_io_executor executor;
  std::shared_ptr<ssl::context> tls_ctx;  // outlives `tls`
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  std::optional<beast::tcp_stream> plain;
  std::optional<local_stream> local;  // ClientRequest::unix_socket
  beast::flat_buffer buffer;
  bool connected = false;
  SteadyClock::time_point idle_since;
};

// Did the peer close (or send unsolicited bytes on) a parked connection? Called only while
// the connection is parked, so no operation is pending on its socket.
bool looks_alive(Connection& c) {
  if (!c.is_open()) return false;
  char byte;
  // MSG_DONTWAIT: a peek that must not block, on TCP and unix sockets alike.
  auto n = ::recv(c.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// The result of one attempt on one connection.
struct Outcome {
  Result<ClientResponse> result;
  bool reusable = false;  // the connection may be parked
  bool stale = false;     // failed before any response byte: the server may have closed it
  bool written = false;
};

// asio's host_name_verification, recording a mismatch in the verify result so that the
// handshake error names it ("hostname mismatch").
struct HostCheck {
  ssl::host_name_verification check;
  bool operator()(bool preverified, ssl::verify_context& ctx) const {
    bool ok = check(preverified, ctx);
    if (!ok && preverified) {
      X509_STORE_CTX_set_error(ctx.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
    }
    return ok;
  }
};

}  // namespace

namespace detail {

// The pool: the client's copy of its config, the TLS context and parked connections.
struct ClientState : std::enable_shared_from_this<ClientState> {
  ClientState(net::any_io_executor ex, config::HttpClientConfig const& c) : cfg(c), sweep(ex) {}

  // The most recently parked live connection for `key`; dead or expired ones are closed.
  std::shared_ptr<Connection> take(std::string const& key) {
    std::lock_guard lock(mu);
    auto it = idle.find(key);
    while (it != idle.end() && !it->second.empty()) {
      auto c = std::move(it->second.back());
      it->second.pop_back();
      if (SteadyClock::now() - c->idle_since < cfg.idle_timeout && looks_alive(*c)) return c;
    }
    return nullptr;
  }

  void put(std::string const& key, std::shared_ptr<Connection> c) {
    std::lock_guard lock(mu);
    auto& q = idle[key];
    // Over the limit, `c` is closed as it is released.
    if (q.size() >= cfg.max_idle_per_host || !c->is_open()) return;
    c->expires_never();
    c->idle_since = SteadyClock::now();
    q.push_back(std::move(c));
    if (!sweep_armed) arm(q.back()->idle_since + cfg.idle_timeout);
  }

  void arm(SteadyClock::time_point when) {  // requires mu
    sweep_armed = true;
    sweep.expires_at(when);
    sweep.async_wait([weak = weak_from_this()](error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->on_sweep();
    });
  }

  void on_sweep() {
    std::lock_guard lock(mu);
    sweep_armed = false;
    auto now = SteadyClock::now();
    std::optional<SteadyClock::time_point> next;
    for (auto& [key, q] : idle) {
      std::erase_if(q, [&](auto const& c) { return now - c->idle_since >= cfg.idle_timeout; });
      if (!q.empty())
        next = std::min(next.value_or(SteadyClock::time_point::max()),
                        q.front()->idle_since + cfg.idle_timeout);
    }
    if (next) arm(*next);
  }

  // The TLS context for a new connection. The system CA store (about 140 certificates: some
  // 0.7 MiB of heap and the ASN.1/RSA decoding code of libcrypto) is loaded at the first HTTPS
  // connection, not at start-up: a hub that makes no outbound HTTPS call never holds it.
  std::shared_ptr<ssl::context> tls_context(spdlog::logger& log) {
    std::call_once(system_cas_loaded, [&] {
      if (!cfg.tls_verify) return;
      error_code ec;
      tls_ctx->set_default_verify_paths(ec);
      if (ec) log.warn("http client: cannot load the system CA store: {}", ec.message());
    });
    return tls_ctx;
  }

  config::HttpClientConfig const cfg;
  std::shared_ptr<ssl::context> tls_ctx;  // set up by the client's constructor; read-only after
  std::once_flag system_cas_loaded;       // ... but for the system CAs, added once by tls_context()
  std::mutex mu;
  std::map<std::string, std::deque<std::shared_ptr<Connection>>> idle;  // GUARDED_BY(mu)
  net::steady_timer sweep;                                              // GUARDED_BY(mu)
  bool sweep_armed = false;                                             // GUARDED_BY(mu)
};

}  // namespace detail

namespace {

// Writes the request on `stream` (plain or TLS) and reads the response.
template <class Stream>
net::awaitable<Outcome> exchange(Stream& stream, Connection& conn, Target const& t,
                                 std::size_t max_bytes, SteadyClock::time_point deadline) {
  Outcome out;
  error_code ec;
  auto timed_out = [&] { return ec == beast::error::timeout || SteadyClock::now() >= deadline; };
  auto timeout_error = [&] {
    return failure(t, Errc::unavailable, "timed out after " + describe(t.p.timeout));
  };
  conn.expires_at(deadline);
  co_await bhttp::async_write(stream, t.req, net::redirect_error(kAwait, ec));
  if (ec) {
    out.stale = !timed_out();
    out.result = timed_out() ? timeout_error()
                             : failure(t, Errc::unavailable, "sending failed: " + ec.message());
    co_return out;
  }
  out.written = true;
  std::optional<bhttp::response_parser<bhttp::string_body>> p;
  do {  // skipping interim 1xx responses
    p.emplace();
    p->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(max_bytes, std::numeric_limits<std::uint32_t>::max())));
    p->body_limit(max_bytes);
    if (t.req.method() == bhttp::verb::head) p->skip(true);
    conn.expires_at(deadline);
    // Beast reads into what the buffer has room for, at least 512 bytes: an IdP's token
    // answer (a few KB) took several reads, each a trip through the event loop. With room
    // for 16 KiB most answers come in one read; a pooled connection keeps the room.
    if (conn.buffer.capacity() < kReadRoom) conn.buffer.reserve(kReadRoom);
    co_await bhttp::async_read(stream, conn.buffer, *p, net::redirect_error(kAwait, ec));
    if (ec) {
      out.stale = !p->got_some() && conn.buffer.size() == 0 && !timed_out();
      bool parse_error =
          ec.category() == bhttp::make_error_code(bhttp::error::need_more).category() &&
          ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
      if (timed_out()) {
        out.result = timeout_error();
      } else if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
        out.result = failure(t, Errc::bad_gateway,
                             "response larger than " + std::to_string(max_bytes) + " bytes");
      } else if (parse_error) {
        out.result = failure(t, Errc::bad_gateway, "malformed HTTP response: " + ec.message());
      } else {
        out.result = failure(t, Errc::unavailable,
                             "connection lost before the response was complete: " + ec.message());
      }
      co_return out;
    }
  } while (p->get().result_int() / 100 == 1 && p->get().result_int() != 101);
  ClientResponse resp;
  resp.status = p->get().result_int();
  out.reusable =
      p->keep_alive() && t.req.keep_alive() && resp.status != 101 && conn.buffer.size() == 0;
  for (auto const& f : p->get()) resp.headers.emplace_back(f.name_string(), f.value());
  resp.body = std::move(p->release().body());
  out.result = std::move(resp);
  co_return out;
}

// DNS, TCP connect and TLS handshake for a new connection, all within connect_timeout.
net::awaitable<std::optional<Error>> connect(Connection& conn, Target const& t,
                                             config::HttpClientConfig const& cfg,
                                             SteadyClock::time_point deadline) {
  auto connect_deadline = std::min(deadline, SteadyClock::now() + cfg.connect_timeout);
  auto where = t.p.host + ":" + t.p.port;
  auto timeout_error = [&](std::string const& what) {
    if (connect_deadline == deadline)
      return failure(t, Errc::unavailable, "timed out after " + describe(t.p.timeout));
    return failure(t, Errc::unavailable,
                   what + " timed out after " +
                       describe(std::chrono::duration_cast<milliseconds>(cfg.connect_timeout)));
  };
  error_code ec;
  if (conn.local) {
    conn.local->expires_at(connect_deadline);
    net::local::stream_protocol::endpoint ep(t.p.unix_socket);
    co_await conn.local->async_connect(ep, net::redirect_error(kAwait, ec));
    if (ec == beast::error::timeout)
      co_return timeout_error("connecting to unix socket " + t.p.unix_socket);
    if (ec)
      co_return failure(t, Errc::unavailable,
                        "cannot connect to unix socket " + t.p.unix_socket + ": " + ec.message());
    co_return std::nullopt;
  }
  // The resolver has no deadline of its own; a timer cancels it.
  auto resolver = std::make_shared<tcp::resolver>(conn.executor);
  net::steady_timer timer(conn.executor, connect_deadline);
  timer.async_wait([weak = std::weak_ptr(resolver)](error_code e) {
    if (auto r = weak.lock(); r && !e) r->cancel();
  });
  auto endpoints =
      co_await resolver->async_resolve(t.p.host, t.p.port, net::redirect_error(kAwait, ec));
  timer.cancel();
  if (ec && SteadyClock::now() >= connect_deadline)
    co_return timeout_error("resolving " + t.p.host);
  if (ec)
    co_return failure(t, Errc::unavailable, "cannot resolve " + t.p.host + ": " + ec.message());

  conn.lowest().expires_at(connect_deadline);
  co_await conn.lowest().async_connect(endpoints, net::redirect_error(kAwait, ec));
  if (ec == beast::error::timeout) co_return timeout_error("connecting to " + where);
  if (ec)
    co_return failure(t, Errc::unavailable, "cannot connect to " + where + ": " + ec.message());
  if (!conn.tls) co_return std::nullopt;

  SSL* native = conn.tls->native_handle();
  error_code not_ip;
  net::ip::make_address(t.p.host, not_ip);
  // RFC 6066 §3: SNI carries DNS names only, never IP literals.
  if (not_ip && !SSL_set_tlsext_host_name(native, t.p.host.c_str()))
    co_return failure(t, Errc::unavailable, "cannot set the TLS server name " + t.p.host);
  if (cfg.tls_verify)
    conn.tls->set_verify_callback(HostCheck{ssl::host_name_verification(t.p.host)});
  co_await conn.tls->async_handshake(ssl::stream_base::client, net::redirect_error(kAwait, ec));
  if (ec == beast::error::timeout || (ec && SteadyClock::now() >= connect_deadline))
    co_return timeout_error("TLS handshake with " + where);
  if (ec) {
    std::string why = ec.message();
    if (long vr = SSL_get_verify_result(native); vr != X509_V_OK) {
      why += std::string(": ") + X509_verify_cert_error_string(vr);
      why += vr == X509_V_ERR_HOSTNAME_MISMATCH
                 ? " (the certificate is not valid for " + t.p.host + ")"
                 : "; to trust a private CA, set http_client.ca_file";
    }
    co_return failure(t, Errc::unavailable, "TLS handshake with " + where + " failed: " + why);
  }
  co_return std::nullopt;
}

// One attempt on `conn` (connecting it first if new); runs on the connection's strand.
net::awaitable<Outcome> attempt(std::shared_ptr<Connection> conn, std::shared_ptr<Target const> t,
                                std::shared_ptr<detail::ClientState> state,
                                SteadyClock::time_point deadline) {
  if (!conn->connected) {
    if (auto err = co_await connect(*conn, *t, state->cfg, deadline)) {
      Outcome out;
      out.result = std::move(*err);
      co_return out;
    }
    conn->connected = true;
  }
  auto max_bytes = state->cfg.max_response_bytes;
  if (conn->tls) co_return co_await exchange(*conn->tls, *conn, *t, max_bytes, deadline);
  if (conn->local) co_return co_await exchange(*conn->local, *conn, *t, max_bytes, deadline);
  co_return co_await exchange(*conn->plain, *conn, *t, max_bytes, deadline);
}

// A streamed exchange (HttpClient::stream): the head as usual, then a 2xx body handed to
// `on_chunk` piece by piece through a fixed buffer, each read bounded by the idle timeout.
template <class Stream>
net::awaitable<Result<ClientResponse>> stream_exchange(Stream& stream, Connection& conn,
                                                       Target const& t, ChunkHandler& on_chunk,
                                                       StreamOptions const& opts,
                                                       std::size_t max_bytes,
                                                       SteadyClock::time_point deadline) {
  error_code ec;
  auto next_deadline = [&] {
    if (opts.idle_timeout.count() <= 0) return deadline;
    return std::min(deadline, SteadyClock::now() + opts.idle_timeout);
  };
  auto cancelled = [&] { return opts.cancel && opts.cancel->cancelled(); };
  auto read_error = [&](std::string const& when) -> Error {
    if (SteadyClock::now() >= deadline)
      return failure(t, Errc::unavailable, "timed out after " + describe(t.p.timeout));
    if (ec == beast::error::timeout)
      return failure(t, Errc::unavailable,
                     "stalled: nothing received for " + describe(opts.idle_timeout) + " " + when);
    return failure(t, Errc::unavailable, "connection lost " + when + ": " + ec.message());
  };
  conn.expires_at(deadline);
  co_await bhttp::async_write(stream, t.req, net::redirect_error(kAwait, ec));
  if (ec) co_return failure(t, Errc::unavailable, "sending failed: " + ec.message());

  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
  do {  // skipping interim 1xx responses
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(max_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser->body_limit(boost::none);  // a stream has no end we could know; the caller decides
    conn.expires_at(next_deadline());
    co_await bhttp::async_read_header(stream, conn.buffer, *parser, net::redirect_error(kAwait, ec));
    if (ec) {
      if (cancelled()) co_return failure(t, Errc::unavailable, "cancelled before a response");
      if (ec == bhttp::error::header_limit)
        co_return failure(t, Errc::bad_gateway,
                          "response larger than " + std::to_string(max_bytes) + " bytes");
      co_return read_error("before the response");
    }
  } while (parser->get().result_int() / 100 == 1 && parser->get().result_int() != 101);
  auto& p = *parser;
  ClientResponse resp;
  resp.status = p.get().result_int();
  for (auto const& f : p.get()) resp.headers.emplace_back(f.name_string(), f.value());
  bool const streamed = resp.status / 100 == 2;
  std::array<char, 16384> buf;
  while (!p.is_done()) {
    p.get().body().data = buf.data();
    p.get().body().size = buf.size();
    conn.expires_at(next_deadline());
    co_await bhttp::async_read_some(stream, conn.buffer, p, net::redirect_error(kAwait, ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    std::size_t n = buf.size() - p.get().body().size;
    if (n > 0) {
      if (streamed) {
        if (!on_chunk(std::string_view(buf.data(), n))) co_return resp;
      } else if (resp.body.size() + n > max_bytes) {
        co_return failure(t, Errc::bad_gateway,
                          "response larger than " + std::to_string(max_bytes) + " bytes");
      } else {
        resp.body.append(buf.data(), n);
      }
    }
    if (ec) {
      if (cancelled()) co_return resp;
      co_return read_error("in the middle of the body");
    }
  }
  co_return resp;
}

net::awaitable<Result<ClientResponse>> stream_attempt(std::shared_ptr<Connection> conn,
                                                      std::shared_ptr<Target const> t,
                                                      std::shared_ptr<detail::ClientState> state,
                                                      ChunkHandler on_chunk, StreamOptions opts,
                                                      SteadyClock::time_point deadline) {
  if (auto err = co_await connect(*conn, *t, state->cfg, deadline)) co_return std::move(*err);
  conn->connected = true;
  // cancel() from another thread closes the socket on the connection's strand; the pending
  // read then completes with operation_aborted.
  if (opts.cancel &&
      !opts.cancel->set_hook([weak = std::weak_ptr<Connection>(conn)] {
        if (auto c = weak.lock())
          net::post(c->executor, [c] {
            error_code ignored;
            if (c->local) c->local->socket().close(ignored);
            else c->lowest().socket().close(ignored);
          });
      }))
    co_return failure(*t, Errc::unavailable, "cancelled before a response");
  auto max_bytes = state->cfg.max_response_bytes;
  Result<ClientResponse> r = Error{Errc::internal, "unreachable"};
  if (conn->tls)
    r = co_await stream_exchange(*conn->tls, *conn, *t, on_chunk, opts, max_bytes, deadline);
  else if (conn->local)
    r = co_await stream_exchange(*conn->local, *conn, *t, on_chunk, opts, max_bytes, deadline);
  else
    r = co_await stream_exchange(*conn->plain, *conn, *t, on_chunk, opts, max_bytes, deadline);
  if (opts.cancel) opts.cancel->clear_hook();
  co_return r;
}

}  // namespace

BeastHttpClient::BeastHttpClient(net::any_io_executor ex, config::HttpClientConfig const& cfg,
                                 spdlog::logger& log)
    : ex_(std::move(ex)), log_(log), state_(std::make_shared<detail::ClientState>(ex_, cfg)) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  if (cfg.tls_verify) {
    ctx->set_verify_mode(ssl::verify_peer);
    error_code ec;
    // The system CAs follow at the first HTTPS connection (ClientState::tls_context); a bad
    // ca_file is still a start-up error.
    if (!cfg.ca_file.empty()) {
      ctx->load_verify_file(cfg.ca_file, ec);
      if (ec) {
        throw std::runtime_error("http_client.ca_file: cannot load " + cfg.ca_file + ": " +
                                 ec.message());
      }
    }
  } else {
    // Fail-open by configuration only (STYLE.md §7): said once, loudly, at startup.
    ctx->set_verify_mode(ssl::verify_none);
    log_.warn(
        "http client: TLS certificate verification is OFF (http_client.tls_verify = "
        "false); outbound HTTPS can be intercepted");
  }
  state_->tls_ctx = std::move(ctx);
}

BeastHttpClient::BeastHttpClient(net::io_context& ioc, config::HttpClientConfig const& cfg,
                                 spdlog::logger& log)
    : BeastHttpClient(ioc.get_executor(), cfg, log) {}

BeastHttpClient::~BeastHttpClient() {
  std::lock_guard lock(state_->mu);
  state_->sweep.cancel();
  state_->idle.clear();
}

std::size_t BeastHttpClient::idle_connections_for_test() const {
  std::lock_guard lock(state_->mu);
  std::size_t n = 0;
  for (auto const& [key, q] : state_->idle) n += q.size();
  return n;
}

net::awaitable<Result<ClientResponse>> BeastHttpClient::send(ClientRequest req) {
  try {
    auto prepared = detail::prepare_request(
        std::move(req), std::chrono::duration_cast<milliseconds>(state_->cfg.request_timeout));
    if (!prepared) co_return prepared.error();
    auto t = make_target(std::move(*prepared));
    auto const& key = t->p.pool_key;
    auto deadline = SteadyClock::now() + t->p.timeout;
    for (int attempt_no = 0;; ++attempt_no) {
      auto conn = attempt_no == 0 ? state_->take(key) : nullptr;
      bool reused = conn != nullptr;
      if (!conn) {
        log_.debug("http client: new connection to {}", key);
        conn = std::make_shared<Connection>(net::make_strand(ex_),
                                            t->p.tls ? state_->tls_context(log_) : nullptr,
                                            !t->p.unix_socket.empty());
      }
      // The attempt runs on the connection's strand; co_spawn's completion resumes this
      // coroutine on the caller's executor.
      auto out = co_await net::co_spawn(conn->executor, attempt(conn, t, state_, deadline), kAwait);
      if (out.result) {
        if (out.reusable) state_->put(key, std::move(conn));
        co_return std::move(out.result);
      }
      if (attempt_no == 0 && reused && out.stale && (t->p.idempotent || !out.written)) {
        log_.debug("http client: {} {}: the server closed a parked connection; retrying",
                   t->p.method, t->p.shown);
        continue;
      }
      co_return std::move(out.result);
    }
  } catch (std::exception const& e) {
    co_return Error{Errc::internal, std::string("HTTP client: unexpected exception: ") + e.what()};
  } catch (...) {
    co_return Error{Errc::internal, "HTTP client: unexpected exception"};
  }
}

net::awaitable<Result<ClientResponse>> BeastHttpClient::stream(ClientRequest req,
                                                               ChunkHandler on_chunk,
                                                               StreamOptions opts) {
  try {
    auto prepared = detail::prepare_request(
        std::move(req), std::chrono::duration_cast<milliseconds>(state_->cfg.request_timeout));
    if (!prepared) co_return prepared.error();
    auto t = make_target(std::move(*prepared));
    auto deadline = SteadyClock::now() + t->p.timeout;
    log_.debug("http client: new streaming connection to {}", t->p.pool_key);
    auto conn = std::make_shared<Connection>(net::make_strand(ex_),
                                             t->p.tls ? state_->tls_context(log_) : nullptr,
                                             !t->p.unix_socket.empty());
    co_return co_await net::co_spawn(
        conn->executor,
        stream_attempt(conn, t, state_, std::move(on_chunk), std::move(opts), deadline), kAwait);
  } catch (std::exception const& e) {
    co_return Error{Errc::internal, std::string("HTTP client: unexpected exception: ") + e.what()};
  } catch (...) {
    co_return Error{Errc::internal, "HTTP client: unexpected exception"};
  }
}

}  // namespace nbhub::http
