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
//
// Several hubs behind one load balancer: the CA's request for port 80 may reach any of them,
// not only the lease holder that asked for validation. So the holder also publishes its
// answers to the store (Http01Solver's `publish`), and a hub that does not know a token asks
// `shared` (set once before serving), which reads the store: a blocking call, so mount the
// handler with a handler_executor that may block.
class Http01Responder {
 public:
  using SharedLookup = std::function<std::optional<std::string>(std::string const& token)>;
  explicit Http01Responder(SharedLookup shared = {}) : shared_(std::move(shared)) {}
  void put(std::string const& token, std::string key_authorization);
  void erase(std::string const& token);
  std::optional<std::string> find(std::string_view token) const;

 private:
  SharedLookup shared_;
  mutable std::mutex mu_;
  std::map<std::string, std::string, std::less<>> answers_;  // GUARDED_BY(mu_)
};

// The store record names of shared HTTP-01 answers: this prefix and the token. The value is
// the key authorization in clear (it is public).
inline constexpr std::string_view kHttp01RecordPrefix = "http-01 ";

// The path prefix the answers are served under.
inline constexpr std::string_view kHttp01Prefix = "/.well-known/acme-challenge/";

class Http01Solver final : public ChallengeSolver {
 public:
  // Shares an answer with the other hubs (key authorization) or withdraws it (nullopt).
  using Publish = std::function<void(std::string const& token, std::optional<std::string> answer)>;
  explicit Http01Solver(Http01Responder& responder, Publish publish = {})
      : responder_(responder), publish_(std::move(publish)) {}
  std::string_view type() const override { return "http-01"; }
  Result<void> present(std::string const& domain, std::string const& token,
                       std::string const& key_authorization) override;
  void withdraw(std::string const& domain, std::string const& token) override;

 private:
  Http01Responder& responder_;
  Publish publish_;
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
