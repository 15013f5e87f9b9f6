#include "acme/certificates.hpp"

#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/openssl_util.hpp"
#include "core/crypto.hpp"

using namespace nbhub;
using namespace nbhub::acme;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> dns_names(STACK_OF(GENERAL_NAME) * names) {
  std::vector<std::string> out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    auto* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS)
      out.emplace_back(reinterpret_cast<char const*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                       static_cast<std::size_t>(ASN1_STRING_length(gn->d.dNSName)));
  }
  return out;
}

auto const kNow = std::chrono::system_clock::from_time_t(1767225600);

}  // namespace

TEST(TlsAlpnCertificate, CarriesTheCriticalAcmeIdentifierWithTheKeyAuthorizationDigest) {
  std::string const key_auth = "token123.thumbprint456";
  auto pair = make_tls_alpn_certificate("hub.example.org", key_auth, kNow);
  ASSERT_TRUE(pair) << pair.error().message;
  auto certs = read_certificates(pair->chain_pem);
  ASSERT_TRUE(certs);
  ASSERT_EQ(certs->size(), 1u);
  X509* cert = certs->front().get();

  ASN1_OBJECT* oid = OBJ_txt2obj(kAcmeIdentifierOid, 1);
  int idx = X509_get_ext_by_OBJ(cert, oid, -1);
  ASN1_OBJECT_free(oid);
  ASSERT_GE(idx, 0) << "no id-pe-acmeIdentifier extension";
  X509_EXTENSION* ext = X509_get_ext(cert, idx);
  EXPECT_EQ(X509_EXTENSION_get_critical(ext), 1);  // RFC 8737 §3: MUST be critical
  // extnValue = DER OCTET STRING (SIZE 32) of SHA-256(key authorization).
  ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
  std::string der(reinterpret_cast<char const*>(ASN1_STRING_get0_data(value)),
                  static_cast<std::size_t>(ASN1_STRING_length(value)));
  EXPECT_EQ(der, std::string("\x04\x20", 2) + crypto::sha256(key_auth));

  // The one subjectAltName is the domain being validated.
  auto* names = static_cast<STACK_OF(GENERAL_NAME)*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(names, nullptr);
  EXPECT_EQ(dns_names(names), std::vector<std::string>{"hub.example.org"});
  GENERAL_NAMES_free(names);

  auto info = inspect(*pair);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_LT(info->not_before, kNow);
  EXPECT_GT(info->not_after, kNow + 24h);
}

TEST(Csr, NamesEveryDomainAndIsSignedByTheNewKey) {
  for (auto type : {CertKeyType::ec_p256, CertKeyType::rsa_2048}) {
    auto made = make_key_and_csr({"hub.example.org", "www.example.org"}, type);
    ASSERT_TRUE(made) << made.error().message;
    auto const* p = reinterpret_cast<unsigned char const*>(made->csr_der.data());
    X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(made->csr_der.size()));
    ASSERT_NE(req, nullptr);
    auto key = read_private_key(made->key_pem);
    ASSERT_TRUE(key);
    EXPECT_EQ(X509_REQ_verify(req, key->get()), 1);
    EXPECT_EQ(EVP_PKEY_is_a(key->get(), type == CertKeyType::rsa_2048 ? "RSA" : "EC"), 1);
    auto* exts = X509_REQ_get_extensions(req);
    auto* names = static_cast<STACK_OF(GENERAL_NAME)*>(X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr));
    ASSERT_NE(names, nullptr);
    EXPECT_EQ(dns_names(names), (std::vector<std::string>{"hub.example.org", "www.example.org"}));
    GENERAL_NAMES_free(names);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
  }
  EXPECT_FALSE(make_key_and_csr({}, CertKeyType::ec_p256));
}

TEST(Inspect, RefusesAKeyOfAnotherCertificate) {
  auto a = make_tls_alpn_certificate("a.example", "x.y", kNow);
  auto b = make_tls_alpn_certificate("b.example", "x.y", kNow);
  ASSERT_TRUE(a && b);
  auto r = inspect({a->chain_pem, b->key_pem});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("does not belong"), std::string::npos);
  EXPECT_FALSE(inspect({"garbage", a->key_pem}));
  auto ok = inspect(*a);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->dns_names, std::vector<std::string>{"a.example"});
}

TEST(RenewTime, IsTheGivenShareOfTheLifetime) {
  CertificateInfo info{kNow, kNow + 90 * 24h, {}, {}};
  EXPECT_EQ(renew_time(info, 66), kNow + std::chrono::seconds(90 * 86400 * 66 / 100));
  EXPECT_EQ(renew_time(info, 50), kNow + 45 * 24h);
  // Pebble's default lifetime is five years: no overflow.
  CertificateInfo five_years{kNow, kNow + 1826 * 24h, {}, {}};
  EXPECT_EQ(renew_time(five_years, 66), kNow + std::chrono::seconds(1826LL * 86400 * 66 / 100));
}
