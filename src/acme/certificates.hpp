#pragma once
// The X.509 side of ACME: the certificate key and CSR sent to finalize (RFC 8555 §7.4), what a
// downloaded chain says about itself (validity, names, the key it certifies), and the
// TLS-ALPN-01 challenge certificate (RFC 8737 §3).
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "tls/certificate_pair.hpp"

namespace nbhub::acme {

enum class CertKeyType { ec_p256, rsa_2048 };

struct KeyAndCsr {
  std::string key_pem;  // secret
  std::string csr_der;  // DER CertificationRequest, as finalize wants it (base64url in JSON)
};

// A fresh key of `type` and a CSR for `domains` (subjectAltName dNSName each; the first also
// as the subject CN, which some CAs still read). Errors: bad_request for no domains, internal
// when OpenSSL fails.
Result<KeyAndCsr> make_key_and_csr(std::vector<std::string> const& domains, CertKeyType type);

struct CertificateInfo {
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
  std::vector<std::string> dns_names;  // the leaf's subjectAltName dNSName entries
  std::string serial_hex;
};

// Reads the leaf (first) certificate of `pair.chain_pem` and checks that `pair.key_pem` is its
// key. Errors: bad_request naming what is wrong (no certificate, unreadable key, key mismatch).
Result<CertificateInfo> inspect(tls::CertificatePair const& pair);

// The moment `percent` of the leaf's lifetime has passed (66: two thirds, as certbot and
// Let's Encrypt advise).
std::chrono::system_clock::time_point renew_time(CertificateInfo const& info, unsigned percent);

// RFC 8737 §3: a self-signed certificate for `domain` (its only subjectAltName) carrying the
// critical acmeIdentifier extension (id-pe-acmeIdentifier, 1.3.6.1.5.5.7.1.31) whose value is
// the DER OCTET STRING of SHA-256(key_authorization). Fresh P-256 key; valid from an hour
// before `now` for a week (the validation server checks nothing else). Errors: internal.
Result<tls::CertificatePair> make_tls_alpn_certificate(std::string const& domain,
                                                       std::string_view key_authorization,
                                                       std::chrono::system_clock::time_point now);

// The ALPN protocol name a TLS-ALPN-01 validation offers (RFC 8737 §6.2).
inline constexpr std::string_view kAcmeTlsAlpn = "acme-tls/1";
inline constexpr char const* kAcmeIdentifierOid = "1.3.6.1.5.5.7.1.31";

}  // namespace nbhub::acme
