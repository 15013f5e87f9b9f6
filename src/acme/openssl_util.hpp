#pragma once
// OpenSSL 3 plumbing shared by the ACME files: owning pointers, PEM in and out, the error
// queue as text. Internal to acme/.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace nbhub::acme {

struct PkeyFree { void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); } };
struct X509Free { void operator()(X509* x) const noexcept { X509_free(x); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

// The OpenSSL error queue, drained, as "reason; reason"; "" when empty.
std::string openssl_error();

// Errors: bad_request (not a PEM private key). The message never quotes the PEM.
Result<PkeyPtr> read_private_key(std::string_view pem);
std::string private_key_pem(EVP_PKEY* key);  // PKCS#8
// Every certificate in a PEM text, in order. Errors: bad_request (none, or one unreadable).
Result<std::vector<X509Ptr>> read_certificates(std::string_view pem);
std::string certificate_pem(X509* cert);
std::string certificate_der(X509* cert);

// A SHA-256 signature by `key` (DER ECDSA-Sig-Value for EC keys, PKCS#1 v1.5 for RSA).
Result<std::string> sign_sha256(EVP_PKEY* key, std::string_view data);

std::chrono::system_clock::time_point to_time_point(ASN1_TIME const* t);

}  // namespace nbhub::acme
