#pragma once
// The two kinds of client connection the public listener serves: a plain `tcp_stream` and a
// TLS stream. Connection code is templated on the stream type and both are instantiated, so
// the plain path keeps its raw-socket shortcuts (non-blocking sends, the TunnelLoop) and pays
// nothing for TLS. `socket_of` is the TCP socket underneath either: for deadlines
// (http/deadline.hpp), socket options and the peer address.
//
// TlsStream lets OpenSSL read and write the non-blocking socket itself (SSL_set_fd), as nginx
// does: each operation first tries SSL_read/SSL_write/SSL_do_handshake and waits for the
// socket only on SSL_ERROR_WANT_READ/WANT_WRITE. Asio's ssl::stream instead encrypts into a
// memory BIO and moves every record through a separate asynchronous socket write: two copies
// and a scheduler round trip per record (a third of the TLS 100k row's CPU in profiles).
//
// Contract: an AsyncReadStream and AsyncWriteStream for Asio and Beast; at most one read and
// one write in flight, both on the stream's executor (its strand, or the single I/O thread);
// a read and a write may be in flight together (the WebSocket tunnel). Errors are Asio's
// ssl::stream's: eof after close_notify, ssl::error::stream_truncated for a close without it,
// OpenSSL's errors in the ssl category, system errors; beast::error::timeout once a deadline
// set with expires_after has passed (the socket is then shut down, as tcp_stream's would be).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <array>
#include <chrono>
#include <iterator>
#include <memory>
#include <type_traits>
#include <utility>

typedef struct ssl_st SSL;

namespace nbhub::http {

class TlsStream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using error_code = boost::system::error_code;

  // Takes `sock` (open, connected) and a new SSL object from `ctx` in server mode; the SSL
  // object keeps the SSL_CTX alive. `single_thread`: the socket's io_context runs on one
  // thread only (ListenerOptions::single_thread), so that waiting for readability cannot miss
  // an edge another thread's reactor consumed (see wait()). Throws on allocation failure.
  TlsStream(boost::asio::ip::tcp::socket sock, boost::asio::ssl::context& ctx, bool single_thread);
  ~TlsStream();
  TlsStream(TlsStream const&) = delete;
  TlsStream& operator=(TlsStream const&) = delete;

  executor_type get_executor() noexcept { return sock_.get_executor(); }
  boost::asio::ip::tcp::socket& socket() noexcept { return sock_; }
  SSL* native_handle() noexcept { return ssl_; }

  // Deadlines for the operations that follow, as beast::tcp_stream's (the listener and the
  // proxy's error pages use them through beast::get_lowest_layer): when `d` passes, the
  // socket is shut down and the pending operation fails with beast::error::timeout.
  void expires_after(std::chrono::steady_clock::duration d);
  void expires_never();

  // The server side of the handshake.
  template <class Token>
  auto async_handshake(Token&& token) {
    return async_op(Kind::handshake, nullptr, 0, std::forward<Token>(token));
  }

  // Decrypts what is at hand into the first non-empty buffer (one record or what is left of
  // one, as SSL_read).
  template <class Buffers, class Token>
  auto async_read_some(Buffers const& buffers, Token&& token) {
    auto b = first_nonempty(buffers);
    return async_op(Kind::read, b.data(), b.size(), std::forward<Token>(token));
  }

  // Encrypts and sends. Small gathered pieces (a head and a body) are copied into one record
  // first, as Beast's flat_stream did; a large first piece goes as it is.
  template <class Buffers, class Token>
  auto async_write_some(Buffers const& buffers, Token&& token) {
    auto [data, size] = flatten(buffers);
    return async_op(Kind::write, const_cast<void*>(data), size, std::forward<Token>(token));
  }

  // Ends the sending side: our close_notify alert (RFC 8446 §6.1) when the session is in a
  // state to send one, then the TCP FIN. Never waits: the alert is one small record a
  // socket with room takes at once; on a full socket, or after a fatal error or a deadline,
  // only the FIN goes (OpenSSL must not send alerts after a fatal error). A read may be
  // pending (the WebSocket tunnel's other direction): reading continues after close_notify.
  void shutdown_send() noexcept;

  // Writes what the socket takes without waiting (the relay's send_now for TLS): the bytes
  // written, 0 with no error when the socket is full. Then async_write_some on the rest, or on
  // the same `buffers` after 0: OpenSSL must be called again with the bytes it started on.
  template <class Buffers>
  std::size_t write_now(Buffers const& buffers, error_code& ec) {
    auto [data, size] = flatten(buffers);
    std::size_t n = 0;
    ec = {};
    if (size != 0 && attempt(Kind::write, const_cast<void*>(data), size, n, ec) == Step::done) ec = outcome(ec);
    return n;
  }

  // Reads what is at hand without waiting (what OpenSSL holds, or what the socket has): the
  // bytes read, or 0 with no error when a read would have to wait. `wait_write` is set when
  // OpenSSL must send before it can read; then call async_read_some.
  std::size_t read_now(void* data, std::size_t size, error_code& ec, bool& wait_write) {
    std::size_t n = 0;
    ec = {};
    auto step = attempt(Kind::read, data, size, n, ec);
    wait_write = step == Step::want_write;
    if (step == Step::done) ec = outcome(ec);
    return n;
  }

 private:
  enum class Kind { handshake, read, write };
  enum class Step { done, want_read, want_write };
  static constexpr std::size_t kFlattenBytes = 16 * 1024;  // one TLS record's plaintext

  template <class Buffers>
  static boost::asio::mutable_buffer first_nonempty(Buffers const& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it)
      if (boost::asio::buffer_size(*it) != 0) return boost::asio::mutable_buffer(*it);
    return {};
  }
  template <class Buffers>
  std::pair<void const*, std::size_t> flatten(Buffers const& buffers) {
    auto it = boost::asio::buffer_sequence_begin(buffers);
    auto const end = boost::asio::buffer_sequence_end(buffers);
    while (it != end && boost::asio::buffer_size(*it) == 0) ++it;
    if (it == end) return {nullptr, 0};
    boost::asio::const_buffer first(*it);
    if (first.size() >= kFlattenBytes || std::next(it) == end) return {first.data(), first.size()};
    if (!scratch_) scratch_ = std::make_unique_for_overwrite<char[]>(kFlattenBytes);
    auto n = boost::asio::buffer_copy(boost::asio::buffer(scratch_.get(), kFlattenBytes), buffers);
    return {scratch_.get(), n};
  }

  // One attempt of the operation: `n` bytes moved, or what to wait for, or `ec`. A write
  // goes on record after record (one each with partial writes) until the socket is full.
  Step attempt(Kind kind, void* data, std::size_t size, std::size_t& n, error_code& ec);
  // An error from an operation, as the caller sees it (beast::error::timeout after a deadline).
  error_code outcome(error_code ec) const;

  // The state machine behind every asynchronous operation.
  struct Op {
    TlsStream& s;
    Kind kind;
    void* data;
    std::size_t size;
    bool started = false;
    bool finished = false;
    error_code result;
    std::size_t n = 0;
    template <class Self>
    void operator()(Self& self, error_code ec = {}, std::size_t = 0) {
      namespace net = boost::asio;
      if (finished) return self.complete(result, n);
      if (started && ec == net::error::operation_aborted) return self.complete(s.outcome(ec), 0);
      // The MSG_PEEK wait consumed a reset (or another socket error) that OpenSSL would no
      // longer see (it would read a plain end of file instead): report it as it came.
      if (started && ec && ec != net::error::eof) {
        s.fatal_ = true;
        return self.complete(s.outcome(ec), 0);
      }
      bool const first = !started;
      started = true;
      // After a wait that saw data or an end of file, OpenSSL says what it means.
      auto step = (kind != Kind::handshake && size == 0) ? Step::done : s.attempt(kind, data, size, n, result);
      if (step == Step::want_read) return s.wait_read(std::move(self));
      if (step == Step::want_write) return s.sock_.async_wait(net::socket_base::wait_write, std::move(self));
      result = s.outcome(result);
      if (!first) return self.complete(result, n);
      // Done at once: completing inside the initiating call would resume the caller before
      // its co_await suspended; post, as Asio does after a speculative read.
      finished = true;
      net::post(std::move(self));
    }
  };

  template <class Token>
  auto async_op(Kind kind, void* data, std::size_t size, Token&& token) {
    return boost::asio::async_compose<Token, void(error_code, std::size_t)>(Op{*this, kind, data, size}, token,
                                                                           sock_);
  }

  // Waits until the socket is readable. With more than one reactor thread, a wait_read could
  // miss the edge that arrived between OpenSSL's EAGAIN and the wait (another thread's
  // reactor saw it with no operation queued): there a one-byte MSG_PEEK receive waits instead,
  // which Asio first tries at once under the descriptor's lock.
  template <class Self>
  void wait_read(Self&& self) {
    namespace net = boost::asio;
    if (single_thread_) return sock_.async_wait(net::socket_base::wait_read, std::move(self));
    sock_.async_receive(net::buffer(peek_), net::socket_base::message_peek, std::move(self));
  }

  struct Timeout;  // expires_after's timer, shared with its handler
  boost::asio::ip::tcp::socket sock_;
  SSL* ssl_ = nullptr;
  bool single_thread_;
  std::array<char, 1> peek_{};
  bool fatal_ = false;  // an OpenSSL or socket error ended the session: no close_notify
  std::unique_ptr<char[]> scratch_;  // flatten()'s record, allocated on the first gather
  std::shared_ptr<Timeout> timeout_;
};

inline boost::asio::ip::tcp::socket& socket_of(boost::asio::ip::tcp::socket& s) noexcept { return s; }
inline boost::asio::ip::tcp::socket& socket_of(boost::beast::tcp_stream& s) noexcept { return s.socket(); }
inline boost::asio::ip::tcp::socket& socket_of(TlsStream& s) noexcept { return s.socket(); }

template <class Stream>
inline constexpr bool is_tls_v = std::is_same_v<Stream, TlsStream>;

// What the proxy reads and writes on: the bare socket of a plain connection (its Beast
// timers are off while the proxy has it), the TLS stream itself otherwise.
template <class Stream>
using RawStream = std::conditional_t<is_tls_v<Stream>, TlsStream, boost::asio::ip::tcp::socket>;

inline boost::asio::ip::tcp::socket& raw_stream(boost::beast::tcp_stream& s) noexcept { return s.socket(); }
inline TlsStream& raw_stream(TlsStream& s) noexcept { return s; }

}  // namespace nbhub::http
