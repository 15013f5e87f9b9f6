#include "acme/challenges.hpp"

#include "acme/certificates.hpp"

namespace nbhub::acme {

void Http01Responder::put(std::string const& token, std::string key_authorization) {
  std::lock_guard lock(mu_);
  answers_[token] = std::move(key_authorization);
}

void Http01Responder::erase(std::string const& token) {
  std::lock_guard lock(mu_);
  answers_.erase(token);
}

std::optional<std::string> Http01Responder::find(std::string_view token) const {
  {
    std::lock_guard lock(mu_);
    auto it = answers_.find(token);
    if (it != answers_.end()) return it->second;
  }
  if (!shared_ || token.empty()) return std::nullopt;
  return shared_(std::string(token));
}

Result<void> Http01Solver::present(std::string const&, std::string const& token,
                                   std::string const& key_authorization) {
  responder_.put(token, key_authorization);
  if (publish_) publish_(token, key_authorization);
  return {};
}

void Http01Solver::withdraw(std::string const&, std::string const& token) {
  responder_.erase(token);
  if (publish_) publish_(token, std::nullopt);
}

Result<void> TlsAlpnSolver::present(std::string const& domain, std::string const&,
                                    std::string const& key_authorization) {
  if (!sink_.set_alpn_challenge)
    return make_error(Errc::config, "tls.acme.challenge: tls-alpn-01 needs nbhub's own TLS "
                                    "listener; use http-01");
  auto cert = make_tls_alpn_certificate(domain, key_authorization, clock_.now());
  if (!cert) return cert.error();
  sink_.set_alpn_challenge(domain, std::move(*cert));
  return {};
}

void TlsAlpnSolver::withdraw(std::string const& domain, std::string const&) {
  if (sink_.set_alpn_challenge) sink_.set_alpn_challenge(domain, std::nullopt);
}

}  // namespace nbhub::acme
