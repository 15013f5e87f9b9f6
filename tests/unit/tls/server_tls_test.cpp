// ServerTls with certificates made here through OpenSSL's APIs (nothing committed): install
// and refusal keep the current pair, and TLS-ALPN-01 (RFC 8737) selection, checked with
// in-memory handshakes (a BIO pair, no sockets).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "tls/server_tls.hpp"

namespace nbhub::tls {
namespace {

std::string pem_of(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* p = nullptr;
  auto n = BIO_get_mem_data(b, &p);
  std::string out(p, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

std::string pem_of(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  auto n = BIO_get_mem_data(b, &p);
  std::string out(p, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

// A self-signed P-256 certificate for `cn`, valid from `from_days` to `to_days` around now.
CertificatePair make_pair(std::string const& cn, long serial, long from_days = -1, long to_days = 2,
                          EVP_PKEY* sign_with = nullptr) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400);
  X509_set_pubkey(x, key);
  auto* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<unsigned char const*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_sign(x, key, EVP_sha256());
  CertificatePair p{pem_of(x), pem_of(sign_with ? sign_with : key)};
  X509_free(x);
  EVP_PKEY_free(key);
  return p;
}

struct Handshake {
  bool ok = false;
  std::string subject_cn;
  std::string alpn;
  bool challenge = false;
};

// A client handshake against `ctx` in memory: SNI `sni`, ALPN `protos` (wire format).
Handshake handshake(boost::asio::ssl::context& ctx, std::string const& sni, std::string const& protos) {
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  SSL* client = SSL_new(cctx);
  SSL* server = SSL_new(ctx.native_handle());
  BIO *a = nullptr, *b = nullptr;
  BIO_new_bio_pair(&a, 0, &b, 0);
  SSL_set_bio(client, a, a);
  SSL_set_bio(server, b, b);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  if (!sni.empty()) SSL_set_tlsext_host_name(client, sni.c_str());
  if (!protos.empty())
    SSL_set_alpn_protos(client, reinterpret_cast<unsigned char const*>(protos.data()), static_cast<unsigned>(protos.size()));
  Handshake h;
  for (int i = 0; i < 20 && !h.ok; ++i) {
    int c = SSL_do_handshake(client);
    int s = SSL_do_handshake(server);
    h.ok = c == 1 && s == 1;
  }
  if (h.ok) {
    X509* peer = SSL_get1_peer_certificate(client);
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
    h.subject_cn = cn;
    X509_free(peer);
    unsigned char const* p = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(client, &p, &len);
    h.alpn.assign(reinterpret_cast<char const*>(p), len);
    h.challenge = is_alpn_challenge(server);
  }
  SSL_free(client);
  SSL_free(server);
  SSL_CTX_free(cctx);
  return h;
}

std::string const kHttp11{"\x08http/1.1", 9};
std::string const kAcme{"\x0a" "acme-tls/1", 11};

class ServerTlsTest : public ::testing::Test {
 protected:
  ServerTlsTest() : log_("tls", std::make_shared<spdlog::sinks::ostream_sink_mt>(logged_)) {}
  std::ostringstream logged_;
  spdlog::logger log_;
  ServerTls tls_{log_};
};

TEST_F(ServerTlsTest, NoContextBeforeTheFirstInstall) {
  EXPECT_EQ(tls_.context(), nullptr);
  EXPECT_FALSE(tls_.current());
}

TEST_F(ServerTlsTest, InstallServesThePairAndLogsNoKey) {
  auto pair = make_pair("hub.test", 0x1234);
  ASSERT_TRUE(tls_.install(pair, "memory"));
  ASSERT_NE(tls_.context(), nullptr);
  EXPECT_EQ(tls_.current()->serial_hex, "1234");
  EXPECT_EQ(tls_.current()->subject, "CN=hub.test");
  auto h = handshake(*tls_.context(), "hub.test", kHttp11);
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.subject_cn, "hub.test");
  EXPECT_EQ(h.alpn, "http/1.1");
  EXPECT_FALSE(h.challenge);
  EXPECT_NE(logged_.str().find("serial 1234"), std::string::npos);
  EXPECT_EQ(logged_.str().find("PRIVATE KEY"), std::string::npos);
}

TEST_F(ServerTlsTest, ARenewalSwapsTheContextForNewConnectionsOnly) {
  ASSERT_TRUE(tls_.install(make_pair("one.test", 1), "first"));
  auto held = tls_.context();  // what an open connection keeps
  ASSERT_TRUE(tls_.install(make_pair("two.test", 2), "second"));
  EXPECT_NE(tls_.context(), held);
  EXPECT_EQ(handshake(*held, "", kHttp11).subject_cn, "one.test");
  EXPECT_EQ(handshake(*tls_.context(), "", kHttp11).subject_cn, "two.test");
}

TEST_F(ServerTlsTest, RefusesAKeyThatDoesNotMatchAndKeepsTheOldPair) {
  ASSERT_TRUE(tls_.install(make_pair("one.test", 1), "first"));
  auto other = make_pair("other.test", 3);
  auto bad = make_pair("two.test", 2);
  bad.key_pem = other.key_pem;
  auto r = tls_.install(bad, "ssl_cert a.pem / ssl_key b.pem");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_EQ(r.error().message, "ssl_cert a.pem / ssl_key b.pem: the private key does not match the certificate");
  EXPECT_EQ(tls_.current()->serial_hex, "01");
  EXPECT_EQ(handshake(*tls_.context(), "", kHttp11).subject_cn, "one.test");
}

TEST_F(ServerTlsTest, RefusesExpiredAndUnparsablePairs) {
  auto expired = tls_.install(make_pair("old.test", 4, -10, -1), "old");
  ASSERT_FALSE(expired);
  EXPECT_NE(expired.error().message.find("old: the certificate (CN=old.test) expired on "), std::string::npos)
      << expired.error().message;
  auto garbage = tls_.install({"not a certificate", "not a key"}, "junk");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().message.rfind("junk: no PEM certificate found", 0), 0u);
  auto pair = make_pair("k.test", 5);
  pair.key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  auto badkey = tls_.install(pair, "k");
  ASSERT_FALSE(badkey);
  EXPECT_EQ(badkey.error().message.rfind("k: no usable PEM private key", 0), 0u);
  EXPECT_EQ(tls_.context(), nullptr);
}

TEST_F(ServerTlsTest, AlpnChallengeIsServedOnlyForAcmeTlsWithItsDomain) {
  ASSERT_TRUE(tls_.install(make_pair("hub.test", 1), "main"));
  tls_.set_alpn_challenge("Hub.Test", make_pair("challenge.hub.test", 9));
  std::string both = kAcme + kHttp11;
  // acme-tls/1 with the challenge's SNI: the challenge certificate, acme-tls/1, close after.
  auto h = handshake(*tls_.context(), "hub.test", kAcme);
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.subject_cn, "challenge.hub.test");
  EXPECT_EQ(h.alpn, "acme-tls/1");
  EXPECT_TRUE(h.challenge);
  // Another name, or no acme-tls/1: the hub's own certificate and http/1.1.
  h = handshake(*tls_.context(), "other.test", both);
  EXPECT_EQ(h.subject_cn, "hub.test");
  EXPECT_EQ(h.alpn, "http/1.1");
  EXPECT_FALSE(h.challenge);
  h = handshake(*tls_.context(), "hub.test", kHttp11);
  EXPECT_EQ(h.subject_cn, "hub.test");
  EXPECT_FALSE(h.challenge);
  // Removed: acme-tls/1 gets the hub's certificate and no ALPN.
  tls_.set_alpn_challenge("hub.test", std::nullopt);
  h = handshake(*tls_.context(), "hub.test", kAcme);
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.subject_cn, "hub.test");
  EXPECT_EQ(h.alpn, "");
  EXPECT_FALSE(h.challenge);
}

TEST_F(ServerTlsTest, ABadChallengePairIsRefusedWithALogLine) {
  ASSERT_TRUE(tls_.install(make_pair("hub.test", 1), "main"));
  auto bad = make_pair("challenge.test", 2);
  bad.key_pem = make_pair("x", 3).key_pem;
  tls_.set_alpn_challenge("hub.test", bad);
  EXPECT_NE(logged_.str().find("TLS-ALPN-01 challenge for hub.test refused"), std::string::npos);
  EXPECT_FALSE(handshake(*tls_.context(), "hub.test", kAcme).challenge);
}

TEST_F(ServerTlsTest, CheckPairReportsTheCertificate) {
  auto info = check_pair(make_pair("c.test", 0xABCDEF), "x");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->serial_hex, "ABCDEF");
  EXPECT_GT(info->not_after, std::chrono::system_clock::now());
}

}  // namespace
}  // namespace nbhub::tls
