#include "http/tls_stream.hpp"

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sys/socket.h>

#include <cerrno>
#include <new>

namespace nbhub::http {

namespace net = boost::asio;

struct TlsStream::Timeout {
  explicit Timeout(executor_type ex, int fd) : timer(std::move(ex)), fd(fd) {}
  net::steady_timer timer;
  int fd;  // -1 once the stream is gone
  bool expired = false;
};

namespace {

// OpenSSL's socket BIO writes with send(fd, ..., 0): a peer that has gone would raise SIGPIPE
// and end the process (Asio's own sends pass MSG_NOSIGNAL). The same BIO, writing with it.
int send_nosignal(BIO* b, char const* in, int len) {
  int const r = static_cast<int>(::send(BIO_get_fd(b, nullptr), in, static_cast<std::size_t>(len), MSG_NOSIGNAL));
  BIO_clear_retry_flags(b);
  if (r <= 0 && BIO_sock_should_retry(r)) BIO_set_retry_write(b);
  return r;
}

BIO_METHOD const* socket_method() {
  static BIO_METHOD const* const m = [] {
    auto const* base = BIO_s_socket();
    auto* mm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "nbhub socket");
    if (!mm) return base;
    BIO_meth_set_write(mm, send_nosignal);
    BIO_meth_set_read(mm, BIO_meth_get_read(base));
    BIO_meth_set_puts(mm, BIO_meth_get_puts(base));
    BIO_meth_set_ctrl(mm, BIO_meth_get_ctrl(base));
    BIO_meth_set_create(mm, BIO_meth_get_create(base));
    BIO_meth_set_destroy(mm, BIO_meth_get_destroy(base));
    return static_cast<BIO_METHOD const*>(mm);
  }();
  return m;
}

}  // namespace

TlsStream::TlsStream(net::ip::tcp::socket sock, net::ssl::context& ctx, bool single_thread)
    : sock_(std::move(sock)), ssl_(SSL_new(ctx.native_handle())), single_thread_(single_thread) {
  if (!ssl_) throw std::bad_alloc();
  error_code ignored;
  sock_.non_blocking(true, ignored);  // OpenSSL's reads and writes must never block the thread
  // A TLS exchange is several small writes in a row (the server's flight, session tickets,
  // then the response's records): with Nagle's algorithm each waits for the peer's (delayed)
  // ACK of the one before. nginx sets it on TLS connections too.
  sock_.set_option(net::ip::tcp::no_delay(true), ignored);
  BIO* bio = BIO_new(socket_method());
  if (!bio) {
    SSL_free(ssl_);
    throw std::bad_alloc();
  }
  BIO_set_fd(bio, sock_.native_handle(), BIO_NOCLOSE);  // the socket closes with sock_
  SSL_set_bio(ssl_, bio, bio);
  // A write that returns early on a full socket reports the records it sent; the retry may
  // come from another buffer (flatten()'s scratch) with the same bytes.
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read what the socket has (up to a record buffer) in one read(2), not a record's 5-byte
  // header and then its body: half the reads per record (strace: 9 reads per TLS connection
  // against nginx's 4 before). Every operation tries OpenSSL first, so records it buffered
  // are never waited for.
  SSL_set_read_ahead(ssl_, 1);
  SSL_set_accept_state(ssl_);
}

TlsStream::~TlsStream() {
  if (timeout_) {
    timeout_->fd = -1;
    timeout_->timer.cancel();
  }
  SSL_free(ssl_);  // the socket closes after, with sock_
}

void TlsStream::expires_after(std::chrono::steady_clock::duration d) {
  if (!timeout_) timeout_ = std::make_shared<Timeout>(sock_.get_executor(), sock_.native_handle());
  auto& timer = timeout_->timer;
  timer.expires_after(d);  // cancels a previous wait; its handler sees a different expiry
  timer.async_wait([t = timeout_, due = timer.expiry()](error_code ec) {
    if (ec || t->fd < 0 || t->timer.expiry() != due) return;
    t->expired = true;
    // shutdown(2) rather than cancel: the pending operation and every later one fail.
    ::shutdown(t->fd, SHUT_RDWR);
  });
}

void TlsStream::expires_never() {
  if (timeout_) timeout_->timer.expires_at(net::steady_timer::time_point::max());
}

void TlsStream::shutdown_send() noexcept {
  error_code ignored;
  bool const timed_out = timeout_ && timeout_->expired;
  if (!fatal_ && !timed_out && SSL_is_init_finished(ssl_) && !(SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN)) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // 0 (sent, the peer's not yet received) or -1 on a full socket: either way done
    ERR_clear_error();
  }
  sock_.shutdown(net::ip::tcp::socket::shutdown_send, ignored);
}

TlsStream::error_code TlsStream::outcome(error_code ec) const {
  if (ec && timeout_ && timeout_->expired) return boost::beast::error::timeout;
  return ec;
}

TlsStream::Step TlsStream::attempt(Kind kind, void* data, std::size_t size, std::size_t& n, error_code& ec) {
  ERR_clear_error();  // SSL_get_error reads the thread's queue: only this call's errors count
  errno = 0;          // and SSL_ERROR_SYSCALL's errno: only this call's
  int r = 0;
  n = 0;
  switch (kind) {
    case Kind::handshake: r = SSL_do_handshake(ssl_); break;
    case Kind::read: r = SSL_read_ex(ssl_, data, size, &n); break;
    case Kind::write:
      for (;;) {
        std::size_t w = 0;
        r = SSL_write_ex(ssl_, static_cast<char*>(data) + n, size - n, &w);
        if (r != 1) break;
        n += w;
        if (n == size) break;
      }
      break;
  }
  int const saved_errno = errno;  // before anything else can overwrite it
  if (r == 1) {
    ec = {};
    return Step::done;
  }
  // Records already sent count; the socket being full is for the next write to wait on (it
  // starts with the bytes OpenSSL was writing, as the retry must).
  if (n != 0) {
    ec = {};
    return Step::done;
  }
  int const err = SSL_get_error(ssl_, r);
  switch (err) {
    case SSL_ERROR_WANT_READ: return Step::want_read;
    case SSL_ERROR_WANT_WRITE: return Step::want_write;
    case SSL_ERROR_ZERO_RETURN: ec = net::error::eof; break;  // close_notify, as Asio reports it
    case SSL_ERROR_SYSCALL:
      // errno 0: the peer closed without close_notify (OpenSSL 3 reports that as SSL_ERROR_SSL).
      fatal_ = true;
      ec = saved_errno != 0 ? error_code(saved_errno, boost::system::system_category())
                            : error_code(net::ssl::error::stream_truncated);
      break;
    default: {
      // SSL_ERROR_SSL, and results this server never asks for (WANT_X509_LOOKUP, a client
      // hello callback's retry, ...): an error either way, never a 0-byte success, which a
      // read loop would call again at once.
      fatal_ = true;
      auto e = ERR_get_error();
      if (e == 0) ec = net::ssl::error::unexpected_result;
      else if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ec = net::ssl::error::stream_truncated;
      else ec = error_code(static_cast<int>(e), net::error::get_ssl_category());
      ERR_clear_error();
    }
  }
  return Step::done;
}

}  // namespace nbhub::http
