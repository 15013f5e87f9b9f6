// BeastHttpClient over TLS against a loopback server with test-only self-signed certificates:
// tests/data/test-only-localhost-*.pem (CN=localhost, SAN DNS:localhost, IP:127.0.0.1) and
// tests/data/test-only-wrong-host-*.pem (SAN DNS:wrong-host.test only).
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <sstream>

#include "http/client_impl.hpp"
#include "unit/http/test_server.hpp"

namespace nbhub::http {
namespace {

using test::http_response;
using test::Reply;
using test::SeenRequest;
using test::TestServer;

std::string const kCert = NBHUB_TEST_DATA "/test-only-localhost-cert.pem";
std::string const kKey = NBHUB_TEST_DATA "/test-only-localhost-key.pem";
std::string const kWrongHostCert = NBHUB_TEST_DATA "/test-only-wrong-host-cert.pem";
std::string const kWrongHostKey = NBHUB_TEST_DATA "/test-only-wrong-host-key.pem";

Reply ok(SeenRequest const& r) { return {http_response("secure " + r.target)}; }

class ClientTls : public ::testing::Test {
 protected:
  ClientTls() : log_("client", std::make_shared<spdlog::sinks::ostream_sink_mt>(logged_)) {}
  BeastHttpClient& client() {
    if (!client_) client_ = std::make_unique<BeastHttpClient>(ioc_, cfg_, log_);
    return *client_;
  }
  Result<ClientResponse> send(ClientRequest req) {
    return test::run_sync(ioc_, client().send(std::move(req)));
  }

  boost::asio::io_context ioc_;
  config::HttpClientConfig cfg_;
  std::ostringstream logged_;
  spdlog::logger log_;
  std::unique_ptr<BeastHttpClient> client_;
};

TEST_F(ClientTls, SelfSignedCertificateFailsVerificationByDefault) {
  TestServer server(ok, {.cert_file = kCert, .key_file = kKey});
  auto r = send({.url = server.url("/x?code=SECRET", "localhost")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  auto const& m = r.error().message;
  EXPECT_EQ(m.rfind("GET " + server.url("/x", "localhost") + ": TLS handshake with localhost:" +
                        std::to_string(server.port()) + " failed: certificate verify failed",
                    0),
            0u)
      << m;
  EXPECT_NE(m.find("self-signed certificate"), std::string::npos) << m;
  EXPECT_NE(m.find("set http_client.ca_file"), std::string::npos) << m;
  EXPECT_EQ(m.find("SECRET"), std::string::npos);
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(ClientTls, TrustedThroughCaFileByNameAndByIp) {
  cfg_.ca_file = kCert;
  TestServer server(ok, {.cert_file = kCert, .key_file = kKey});
  for (auto host : {"localhost", "127.0.0.1"}) {
    auto r = send({.url = server.url("/ok", host)});
    ASSERT_TRUE(r) << host << ": " << r.error().message;
    EXPECT_EQ(r->body, "secure /ok");
  }
  ASSERT_TRUE(send({.url = server.url("/again", "localhost")}));
  EXPECT_EQ(server.connections(), 2);  // TLS connections are pooled too, one per host name
  EXPECT_EQ(logged_.str().find("verification is OFF"), std::string::npos);
}

TEST_F(ClientTls, SystemCaStoreIsReadAtTheFirstHttpsConnection) {
  // The system CAs are loaded when the first HTTPS connection is made, not when the client is
  // built (idle RSS): SSL_CERT_FILE set after construction must still be honoured.
  client();
  ::setenv("SSL_CERT_FILE", kCert.c_str(), 1);
  TestServer server(ok, {.cert_file = kCert, .key_file = kKey});
  auto r = send({.url = server.url("/sys", "localhost")});
  ::unsetenv("SSL_CERT_FILE");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "secure /sys");
}

TEST_F(ClientTls, HostnameMismatchFails) {
  cfg_.ca_file = kWrongHostCert;  // trusted, but issued for wrong-host.test
  TestServer server(ok, {.cert_file = kWrongHostCert, .key_file = kWrongHostKey});
  auto r = send({.url = server.url("/", "localhost")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(
      r.error().message.find("hostname mismatch (the certificate is not valid for localhost)"),
      std::string::npos)
      << r.error().message;
}

TEST_F(ClientTls, IpLiteralMismatchFails) {
  cfg_.ca_file = kCert;  // valid for localhost and 127.0.0.1, not ::1
  std::unique_ptr<TestServer> server;
  try {
    server = std::make_unique<TestServer>(
        ok, TestServer::Options{.ipv6 = true, .cert_file = kCert, .key_file = kKey});
  } catch (std::exception const& e) {
    GTEST_SKIP() << "no IPv6 loopback: " << e.what();
  }
  auto r = send({.url = server->url("/")});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not valid for ::1"), std::string::npos) << r.error().message;
}

TEST_F(ClientTls, VerificationOffAcceptsAnyCertificateAndWarnsOnce) {
  cfg_.tls_verify = false;
  TestServer server(ok, {.cert_file = kWrongHostCert, .key_file = kWrongHostKey});
  for (int i = 0; i < 2; ++i) {
    auto r = send({.url = server.url("/", "localhost")});
    ASSERT_TRUE(r) << r.error().message;
  }
  auto text = logged_.str();
  auto first = text.find("TLS certificate verification is OFF");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find("TLS certificate verification is OFF", first + 1), std::string::npos);
}

TEST_F(ClientTls, UnreadableCaFileFailsAtConstruction) {
  cfg_.ca_file = NBHUB_TEST_DATA "/no-such-file.pem";
  EXPECT_THROW(BeastHttpClient(ioc_, cfg_, log_), std::runtime_error);
}

TEST_F(ClientTls, PlainHttpToTlsServerIsAnError) {
  TestServer server(ok, {.cert_file = kCert, .key_file = kKey});
  auto r = send({.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/",
                 .timeout = std::chrono::milliseconds(300)});
  ASSERT_FALSE(r);
}

}  // namespace
}  // namespace nbhub::http
