#pragma once
// The public listener's TLS (docs/tls.md): the current OpenSSL server context, built whole
// from a certificate pair and swapped atomically. Each connection takes `context()` at accept
// and keeps it, so a renewal (files changed on disk, SIGHUP, ACME) affects only later
// handshakes; open connections and WebSockets carry on with the pair they started with.
//
// Policy, one place for the hub and `nbhub proxy`: TLS 1.2 and 1.3 only, Mozilla's
// "intermediate" cipher list (v5.7), ALPN http/1.1, session tickets whose keys rotate every
// `ticket_key_lifetime` (a ticket is accepted for two lifetimes; the keys outlive renewals,
// so a renewal does not cost every client a full handshake).
//
// TLS-ALPN-01 (RFC 8737) for ACME: while a challenge is set for a domain, a ClientHello that
// offers ALPN "acme-tls/1" with that SNI gets the challenge certificate and negotiates
// acme-tls/1; the listener closes such a connection after the handshake (is_alpn_challenge).
//
// Thread-safety: every method may be called from any thread; the OpenSSL callbacks run on
// the connection's thread and take a short mutex.
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "tls/certificate_pair.hpp"  // CertificatePair, shared with acme/

typedef struct ssl_st SSL;

namespace spdlog { class logger; }

namespace nbhub::tls {


// What an installed pair holds, for logs and tests.
struct CertificateInfo {
  std::string subject;     // e.g. "CN=hub.example.org"
  std::string serial_hex;  // upper-case hex, as `openssl x509 -serial`
  std::chrono::system_clock::time_point not_after;
};

// Parses `pair` and checks it: one certificate at least, a private key, the key matching the
// leaf certificate, the leaf not expired. Errors (Errc::config) start with `source`.
Result<CertificateInfo> check_pair(CertificatePair const& pair, std::string_view source);

struct ServerTlsOptions {
  std::chrono::seconds ticket_key_lifetime{3600};
};

class ServerTls {
 public:
  // No pair yet: context() is null until install() succeeds.
  explicit ServerTls(spdlog::logger& log, ServerTlsOptions opts = {});
  ~ServerTls();
  ServerTls(ServerTls const&) = delete;
  ServerTls& operator=(ServerTls const&) = delete;

  // Checks the pair (parses, key matches, not expired), builds a complete context, then new
  // handshakes get it; on error the current one stays and the error says why (starting with
  // `source`, e.g. the file names). Logs the subject, serial and expiry of what it installed.
  Result<void> install(CertificatePair const& pair, std::string_view source);
  // RFC 8737 TLS-ALPN-01: while set, a ClientHello offering ALPN "acme-tls/1" with SNI
  // `domain` gets `cert`, negotiates acme-tls/1, and the connection closes after the
  // handshake. nullopt removes it. A pair that does not parse is refused with a log line.
  void set_alpn_challenge(std::string const& domain, std::optional<CertificatePair> cert);

  // The context for a new connection; null before the first successful install(), except
  // while a TLS-ALPN-01 challenge is set: then a context without a certificate, with which
  // only the challenge handshake completes.
  std::shared_ptr<boost::asio::ssl::context> context() const;
  // The installed pair's details; nullopt before the first install().
  std::optional<CertificateInfo> current() const;

  struct Shared;  // ticket keys and challenges; shared with every context built here

 private:
  spdlog::logger& log_;
  std::shared_ptr<Shared> shared_;
};

// True when the handshake on `ssl` negotiated acme-tls/1: serve nothing, close.
bool is_alpn_challenge(SSL* ssl) noexcept;

}  // namespace nbhub::tls
