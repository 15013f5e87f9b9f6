#pragma once
// A certificate chain and its private key, as PEM text: what the public listener serves
// (tls/server_tls.hpp installs it) and what ACME obtains (acme/). Shared by both so neither
// depends on the other; the key is secret and must never be logged.
#include <string>

namespace nbhub::tls {

struct CertificatePair {
  std::string chain_pem;  // leaf first, then intermediates
  std::string key_pem;    // PKCS#8 private key of the leaf
};

}  // namespace nbhub::tls
