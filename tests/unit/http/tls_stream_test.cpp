// TlsStream (http/tls_stream.hpp) on real loopback sockets against a blocking OpenSSL client
// on a thread of its own: writes larger than the socket takes (partial writes, the gathered
// head + body copy), close_notify both ways, a close without it, a reset, a deadline, and no
// CPU spent while an operation waits. Test-only certificate: tests/data/test-only-localhost-*.pem.
#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "http/tls_stream.hpp"

namespace nbhub::http {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

std::string const kCert = NBHUB_TEST_DATA "/test-only-localhost-cert.pem";
std::string const kKey = NBHUB_TEST_DATA "/test-only-localhost-key.pem";

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// A blocking TLS client on its own socket (file descriptor `fd`).
struct Client {
  // `rcvbuf` > 0 fixes the receive buffer (no autotuning), so that how much a writer can put
  // in flight does not depend on the machine's net.ipv4.tcp_rmem.
  explicit Client(unsigned short port, int rcvbuf = 0) {
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0 && ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) ADD_FAILURE() << "SO_RCVBUF";
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ADD_FAILURE() << "connect";
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
  }
  ~Client() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
  bool handshake() { return SSL_connect(ssl) == 1; }
  // Reads until `n` bytes or the end; the end's SSL_get_error in `end`.
  std::string read(std::size_t n, int* end = nullptr) {
    std::string out;
    char buf[16384];
    while (out.size() < n) {
      int r = SSL_read(ssl, buf, static_cast<int>(std::min(sizeof buf, n - out.size())));
      if (r <= 0) {
        if (end) *end = SSL_get_error(ssl, r);
        break;
      }
      out.append(buf, static_cast<std::size_t>(r));
    }
    return out;
  }
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int fd = -1;
};

class TlsStreamTest : public ::testing::TestWithParam<bool> {
 protected:
  TlsStreamTest() : ctx_(net::ssl::context::tls_server), acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    ctx_.use_certificate_chain_file(kCert);
    ctx_.use_private_key_file(kKey, net::ssl::context::pem);
    SSL_CTX_set_options(ctx_.native_handle(), SSL_OP_NO_RENEGOTIATION);
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  // Accepts one connection and shakes hands with it (the client does its part on `client`).
  std::unique_ptr<TlsStream> accept_and_handshake(std::future<bool>& client_ok, Client& c) {
    client_ok = std::async(std::launch::async, [&c] { return c.handshake(); });
    auto s = std::make_unique<TlsStream>(acceptor_.accept(), ctx_, GetParam());
    std::optional<error_code> hs;
    s->async_handshake([&](error_code ec, std::size_t) { hs = ec; });
    run_until([&] { return hs.has_value(); });
    EXPECT_FALSE(*hs) << hs->message();
    return s;
  }
  // Runs the io_context until `done` (at most 10 s).
  template <class Pred>
  void run_until(Pred done) {
    auto until = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < until) {
      ioc_.restart();
      ioc_.run_for(20ms);
    }
    ASSERT_TRUE(done()) << "timed out";
  }
  // The result of one async_read_some.
  error_code read_once(TlsStream& s, std::size_t* n = nullptr) {
    std::optional<error_code> res;
    std::size_t got = 0;
    s.async_read_some(net::buffer(rbuf_), [&](error_code ec, std::size_t k) {
      res = ec;
      got = k;
    });
    run_until([&] { return res.has_value(); });
    if (n) *n = got;
    return res.value_or(error_code{});
  }

  net::io_context ioc_;
  net::ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::array<char, 4096> rbuf_{};
};

TEST_P(TlsStreamTest, WritesLargerThanTheSocketArriveWholeAndWaitingCostsNoCpu) {
  Client c(port());
  std::future<bool> ok;
  auto s = accept_and_handshake(ok, c);
  ASSERT_TRUE(ok.get());
  // A small head and a large body: the gathered first record, then record after record
  // with the socket full many times (partial writes, the retry from another buffer).
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 6000000\r\n\r\n";
  std::string body(6'000'000, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  std::array<net::const_buffer, 2> bufs{net::buffer(head), net::buffer(body)};
  std::optional<error_code> wrote;
  std::size_t n = 0;
  net::async_write(*s, bufs, [&](error_code ec, std::size_t k) {
    wrote = ec;
    n = k;
  });
  // The client reads nothing for 400 ms: the write waits on a full socket meanwhile.
  double const cpu0 = cpu_seconds();
  auto until = std::chrono::steady_clock::now() + 400ms;
  while (std::chrono::steady_clock::now() < until) {
    ioc_.restart();
    ioc_.run_for(20ms);
  }
  double const waited_cpu = cpu_seconds() - cpu0;
  EXPECT_FALSE(wrote.has_value()) << "6 MB cannot fit in loopback socket buffers";
  EXPECT_LT(waited_cpu, 0.1) << "CPU seconds spent while the write waited: a busy loop";
  auto reader = std::async(std::launch::async, [&] { return c.read(head.size() + body.size()); });
  run_until([&] { return wrote.has_value(); });
  ASSERT_FALSE(*wrote) << wrote->message();
  EXPECT_EQ(n, head.size() + body.size());
  auto got = reader.get();
  ASSERT_EQ(got.size(), head.size() + body.size());
  EXPECT_TRUE(got == head + body);
}

TEST_P(TlsStreamTest, ShutdownSendSendsCloseNotifyThenFin) {
  Client c(port());
  std::future<bool> ok;
  auto s = accept_and_handshake(ok, c);
  ASSERT_TRUE(ok.get());
  std::string msg = "bye";
  std::optional<error_code> wrote;
  net::async_write(*s, net::buffer(msg), [&](error_code ec, std::size_t) { wrote = ec; });
  run_until([&] { return wrote.has_value(); });
  s->shutdown_send();
  int end = 0;
  EXPECT_EQ(c.read(100, &end), "bye");
  EXPECT_EQ(end, SSL_ERROR_ZERO_RETURN) << "the client saw a truncation, not close_notify";
  // Reading goes on after our close_notify: the client's answer still arrives.
  ASSERT_EQ(SSL_write(c.ssl, "late", 4), 4);
  std::size_t n = 0;
  EXPECT_FALSE(read_once(*s, &n));
  EXPECT_EQ(std::string(rbuf_.data(), n), "late");
}

TEST_P(TlsStreamTest, ThePeersCloseNotifyIsEof) {
  Client c(port());
  std::future<bool> ok;
  auto s = accept_and_handshake(ok, c);
  ASSERT_TRUE(ok.get());
  SSL_shutdown(c.ssl);
  EXPECT_EQ(read_once(*s), net::error::eof);
}

TEST_P(TlsStreamTest, ACloseWithoutCloseNotifyIsStreamTruncated) {
  Client c(port());
  std::future<bool> ok;
  auto s = accept_and_handshake(ok, c);
  ASSERT_TRUE(ok.get());
  ::shutdown(c.fd, SHUT_WR);
  EXPECT_EQ(read_once(*s), net::ssl::error::stream_truncated);
  // And no close_notify goes out after it: the stream only ends the TCP side.
  s->shutdown_send();
}

TEST_P(TlsStreamTest, APeerResetEndsAPendingReadWithConnectionReset) {
  Client c(port());
  std::future<bool> ok;
  auto s = accept_and_handshake(ok, c);
  ASSERT_TRUE(ok.get());
  std::optional<error_code> res;
  s->async_read_some(net::buffer(rbuf_), [&](error_code ec, std::size_t) { res = ec; });
  ioc_.restart();
  ioc_.run_for(50ms);
  ASSERT_FALSE(res.has_value());
  linger l{1, 0};  // close with RST
  setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(c.fd);
  c.fd = -1;
  run_until([&] { return res.has_value(); });
  EXPECT_EQ(*res, net::error::connection_reset) << res->message();
}

TEST_P(TlsStreamTest, ADeadlineEndsAHandshakeThatNeverComesWithTimeout) {
  // A client that connects and says nothing.
  tcp::socket silent(ioc_);
  silent.connect(acceptor_.local_endpoint());
  TlsStream s(acceptor_.accept(), ctx_, GetParam());
  s.expires_after(200ms);
  std::optional<error_code> hs;
  double const cpu0 = cpu_seconds();
  s.async_handshake([&](error_code ec, std::size_t) { hs = ec; });
  run_until([&] { return hs.has_value(); });
  EXPECT_EQ(*hs, boost::beast::error::timeout) << hs->message();
  EXPECT_LT(cpu_seconds() - cpu0, 0.1);
}

TEST_P(TlsStreamTest, WriteNowTakesWhatFitsAndZeroWithoutErrorWhenFull) {
  // Fixed buffers on both ends (an accepted socket inherits the listener's send buffer): how
  // much fits does not depend on the machine's TCP autotuning limits.
  acceptor_.set_option(net::socket_base::send_buffer_size(64 * 1024));
  Client c(port(), 64 * 1024);
  std::future<bool> ok;
  auto s = accept_and_handshake(ok, c);
  ASSERT_TRUE(ok.get());
  std::string data(4'000'000, 'x');
  error_code ec;
  auto n = s->write_now(net::buffer(data), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_GT(n, 0u);
  EXPECT_LT(n, data.size());
  // The socket is full now: the same rest again takes nothing, and says so without an error.
  auto again = s->write_now(net::buffer(data.data() + n, data.size() - n), ec);
  EXPECT_FALSE(ec) << ec.message();
  // Then the rest asynchronously, starting with the bytes OpenSSL was writing.
  std::optional<error_code> wrote;
  net::async_write(*s, net::buffer(data.data() + n + again, data.size() - n - again),
                   [&](error_code e, std::size_t) { wrote = e; });
  auto reader = std::async(std::launch::async, [&] { return c.read(data.size()); });
  run_until([&] { return wrote.has_value(); });
  EXPECT_FALSE(*wrote) << wrote->message();
  EXPECT_TRUE(reader.get() == data);
}

INSTANTIATE_TEST_SUITE_P(Threads, TlsStreamTest, ::testing::Values(true, false),
                         [](auto const& info) { return info.param ? "SingleThread" : "MultiThread"; });

}  // namespace
}  // namespace nbhub::http
