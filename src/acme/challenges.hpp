#pragma once
// Publishing challenge answers (RFC 8555 §8): the ACME server validates a domain by fetching
// http://DOMAIN/.well-known/acme-challenge/TOKEN (HTTP-01, port 80), or by a TLS handshake to
// DOMAIN:443 offering ALPN "acme-tls/1" (TLS-ALPN-01, RFC 8737). A ChallengeSolver publishes
// the answer before the client tells the server to validate, and withdraws it afterwards.
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "tls/certificate_pair.hpp"

namespace nbhub::acme {

// The seam to the public listener's TLS (tls/server_tls.hpp's ServerTls), so that ACME builds
// and is tested without it. app/ fills it with calls to ServerTls.
struct TlsSink {
  // New handshakes get `pair`; `source` names where it came from, for the log.
  std::function<Result<void>(tls::CertificatePair const& pair, std::string_view source)> install;
  // RFC 8737: a ClientHello with ALPN "acme-tls/1" and SNI `domain` gets `cert`; nullopt
  // removes it. Empty when the listener cannot do it (then tls-alpn-01 cannot be chosen).
  std::function<void(std::string const& domain, std::optional<tls::CertificatePair> cert)>
      set_alpn_challenge;
};

class ChallengeSolver {
 public:
  virtual ~ChallengeSolver() = default;
  virtual std::string_view type() const = 0;  // "http-01" or "tls-alpn-01"
  virtual Result<void> present(std::string const& domain, std::string const& token,
                               std::string const& key_authorization) = 0;
  virtual void withdraw(std::string const& domain, std::string const& token) = 0;
};

// HTTP-01 answers: token -> key authorization. Thread-safe: the ACME manager writes while
// listener threads read. Tokens are not secret (the server fetches them over plain http),
// nor are key authorizations (they contain the account key's public thumbprint only).
class Http01Responder {
 public:
  void put(std::string const& token, std::string key_authorization);
  void erase(std::string const& token);
  std::optional<std::string> find(std::string_view token) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string, std::less<>> answers_;  // GUARDED_BY(mu_)
};

// The path prefix the answers are served under.
inline constexpr std::string_view kHttp01Prefix = "/.well-known/acme-challenge/";

class Http01Solver final : public ChallengeSolver {
 public:
  explicit Http01Solver(Http01Responder& responder) : responder_(responder) {}
  std::string_view type() const override { return "http-01"; }
  Result<void> present(std::string const& domain, std::string const& token,
                       std::string const& key_authorization) override;
  void withdraw(std::string const& domain, std::string const& token) override;

 private:
  Http01Responder& responder_;
};

class TlsAlpnSolver final : public ChallengeSolver {
 public:
  // `sink.set_alpn_challenge` must be set; `clock` dates the challenge certificate.
  TlsAlpnSolver(TlsSink const& sink, Clock const& clock) : sink_(sink), clock_(clock) {}
  std::string_view type() const override { return "tls-alpn-01"; }
  Result<void> present(std::string const& domain, std::string const& token,
                       std::string const& key_authorization) override;
  void withdraw(std::string const& domain, std::string const& token) override;

 private:
  TlsSink const& sink_;
  Clock const& clock_;
};

}  // namespace nbhub::acme
