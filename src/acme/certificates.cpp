#include "acme/certificates.hpp"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/openssl_util.hpp"
#include "core/crypto.hpp"

namespace nbhub::acme {

namespace {

struct ReqFree { void operator()(X509_REQ* r) const noexcept { X509_REQ_free(r); } };
struct NamesFree {
  void operator()(GENERAL_NAMES* n) const noexcept { GENERAL_NAMES_free(n); }
};
struct ExtsFree {
  void operator()(STACK_OF(X509_EXTENSION)* s) const noexcept {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
  }
};

Error ossl_failure(std::string_view what) {
  return make_error(Errc::internal, "acme: " + std::string(what) + ": " + openssl_error());
}

PkeyPtr new_key(CertKeyType type) {
  if (type == CertKeyType::rsa_2048) return PkeyPtr(EVP_RSA_gen(2048));
  return PkeyPtr(EVP_EC_gen("P-256"));
}

// subjectAltName with one dNSName per domain.
X509_EXTENSION* san_extension(std::vector<std::string> const& domains) {
  std::unique_ptr<GENERAL_NAMES, NamesFree> names(sk_GENERAL_NAME_new_null());
  for (auto const& d : domains) {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    ASN1_STRING_set(ia5, d.data(), static_cast<int>(d.size()));
    GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
    sk_GENERAL_NAME_push(names.get(), gn);
  }
  return X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get());
}

bool set_common_name(X509_NAME* name, std::string const& cn) {
  return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    reinterpret_cast<unsigned char const*>(cn.c_str()), -1, -1,
                                    0) == 1;
}

}  // namespace

Result<KeyAndCsr> make_key_and_csr(std::vector<std::string> const& domains, CertKeyType type) {
  if (domains.empty()) return make_error(Errc::bad_request, "acme: a certificate needs at least one domain");
  auto key = new_key(type);
  if (!key) return ossl_failure("generating the certificate key failed");
  std::unique_ptr<X509_REQ, ReqFree> req(X509_REQ_new());
  std::unique_ptr<STACK_OF(X509_EXTENSION), ExtsFree> exts(sk_X509_EXTENSION_new_null());
  X509_EXTENSION* san = san_extension(domains);
  if (!req || !exts || !san) return ossl_failure("building the CSR failed");
  sk_X509_EXTENSION_push(exts.get(), san);
  if (X509_REQ_set_version(req.get(), 0) != 1 ||
      !set_common_name(X509_REQ_get_subject_name(req.get()), domains.front()) ||
      X509_REQ_add_extensions(req.get(), exts.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
      X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0)
    return ossl_failure("building the CSR failed");
  unsigned char* der = nullptr;
  int n = i2d_X509_REQ(req.get(), &der);
  if (n <= 0) return ossl_failure("encoding the CSR failed");
  KeyAndCsr out{private_key_pem(key.get()),
                std::string(reinterpret_cast<char*>(der), static_cast<std::size_t>(n))};
  OPENSSL_free(der);
  return out;
}

Result<CertificateInfo> inspect(tls::CertificatePair const& pair) {
  auto certs = read_certificates(pair.chain_pem);
  if (!certs) return make_error(Errc::bad_request, "the certificate chain: " + certs.error().message);
  auto key = read_private_key(pair.key_pem);
  if (!key) return make_error(Errc::bad_request, "the certificate key: " + key.error().message);
  X509* leaf = certs->front().get();
  if (X509_check_private_key(leaf, key->get()) != 1) {
    openssl_error();  // drain
    return make_error(Errc::bad_request, "the key does not belong to the certificate");
  }
  CertificateInfo info;
  info.not_before = to_time_point(X509_get0_notBefore(leaf));
  info.not_after = to_time_point(X509_get0_notAfter(leaf));
  if (auto* names = static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
      if (gn->type != GEN_DNS) continue;
      auto const* s = gn->d.dNSName;
      info.dns_names.emplace_back(reinterpret_cast<char const*>(ASN1_STRING_get0_data(s)),
                                  static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
    GENERAL_NAMES_free(names);
  }
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr)) {
    char* hex = BN_bn2hex(bn);
    info.serial_hex = hex;
    OPENSSL_free(hex);
    BN_free(bn);
  }
  return info;
}

std::chrono::system_clock::time_point renew_time(CertificateInfo const& info, unsigned percent) {
  // In seconds: a five-year lifetime in nanoseconds times the percentage overflows 64 bits.
  auto const life = std::chrono::duration_cast<std::chrono::seconds>(info.not_after - info.not_before);
  return info.not_before + life * static_cast<long>(percent) / 100;
}

Result<tls::CertificatePair> make_tls_alpn_certificate(std::string const& domain,
                                                       std::string_view key_authorization,
                                                       std::chrono::system_clock::time_point now) {
  auto key = new_key(CertKeyType::ec_p256);
  X509Ptr cert(X509_new());
  if (!key || !cert) return ossl_failure("building the TLS-ALPN-01 certificate failed");
  auto const start = std::chrono::system_clock::to_time_t(now - std::chrono::hours(1));
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_set_version(cert.get(), 2);  // v3, for extensions
  X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, 0, const_cast<time_t*>(&start));
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), 7, 3600, const_cast<time_t*>(&start));
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!set_common_name(name, domain) || X509_set_issuer_name(cert.get(), name) != 1 ||
      X509_set_pubkey(cert.get(), key.get()) != 1)
    return ossl_failure("building the TLS-ALPN-01 certificate failed");

  X509_EXTENSION* san = san_extension({domain});
  // RFC 8737 §3: extnValue is the DER encoding of Authorization ::= OCTET STRING (SIZE (32)),
  // so the extension's OCTET STRING wraps another one: 04 20 <digest>.
  auto const digest = crypto::sha256(key_authorization);
  std::string inner = std::string("\x04\x20", 2) + digest;
  ASN1_OBJECT* oid = OBJ_txt2obj(kAcmeIdentifierOid, 1);
  ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(value, reinterpret_cast<unsigned char const*>(inner.data()),
                        static_cast<int>(inner.size()));
  X509_EXTENSION* acme_id = X509_EXTENSION_create_by_OBJ(nullptr, oid, /*crit=*/1, value);
  ASN1_OBJECT_free(oid);
  ASN1_OCTET_STRING_free(value);
  bool ok = san && acme_id && X509_add_ext(cert.get(), san, -1) == 1 &&
            X509_add_ext(cert.get(), acme_id, -1) == 1;
  X509_EXTENSION_free(san);
  X509_EXTENSION_free(acme_id);
  if (!ok || X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0)
    return ossl_failure("signing the TLS-ALPN-01 certificate failed");
  return tls::CertificatePair{certificate_pem(cert.get()), private_key_pem(key.get())};
}

}  // namespace nbhub::acme
