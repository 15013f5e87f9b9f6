#include "app/public_tls.hpp"

#include <spdlog/spdlog.h>

#include "acme/http01_handler.hpp"
#include "http/https_redirect.hpp"

namespace nbhub::app {

Result<std::unique_ptr<PublicTls>> PublicTls::load(boost::asio::io_context& ioc, std::string const& cert_file,
                                                   std::string const& key_file, spdlog::logger& log,
                                                   PublicTlsOptions opts) {
  std::unique_ptr<PublicTls> p(new PublicTls(ioc, log));
  p->tls_ = std::make_unique<tls::ServerTls>(log, tls::ServerTlsOptions{.ticket_key_lifetime = opts.ticket_key_rotation});
  p->files_ = std::make_shared<tls::CertificateFiles>(
      ioc, *p->tls_,
      tls::CertificateFilesOptions{.cert_file = cert_file, .key_file = key_file, .interval = opts.check_interval,
                                   .sighup = opts.own_sighup},
      log);
  if (auto ok = p->files_->load(); !ok) return ok.error();
  return p;
}

std::unique_ptr<PublicTls> PublicTls::without_files(boost::asio::io_context& ioc, spdlog::logger& log,
                                                    PublicTlsOptions opts) {
  std::unique_ptr<PublicTls> p(new PublicTls(ioc, log));
  p->tls_ = std::make_unique<tls::ServerTls>(log, tls::ServerTlsOptions{.ticket_key_lifetime = opts.ticket_key_rotation});
  return p;
}

void PublicTls::enable_acme(config::HubConfig const& cfg, store::Store& store, store::CryptKeeper const& crypt,
                            Clock const& clock, std::string holder_id, boost::asio::any_io_executor blocking,
                            spdlog::logger& access_log) {
  acme::TlsSink sink;
  sink.install = [tls = tls_.get()](tls::CertificatePair const& pair, std::string_view source) {
    return tls->install(pair, source);
  };
  sink.set_alpn_challenge = [tls = tls_.get()](std::string const& domain, std::optional<tls::CertificatePair> cert) {
    tls->set_alpn_challenge(domain, std::move(cert));
  };
  log_.info("acme: this process holds leases as {}", holder_id);
  acme_ = std::make_unique<acme::AcmeService>(cfg.acme, cfg.http_client, store, crypt, std::move(sink), clock,
                                              std::move(holder_id), log_);
  http01_executor_ = std::move(blocking);
  if (cfg.acme.challenge == "http-01") acme_http_port_ = static_cast<std::uint16_t>(cfg.acme.http_port);
  acme_limits_ = cfg.http;
  access_log_ = &access_log;
}

void PublicTls::start(std::string const& ip, std::uint16_t redirect_port, std::uint16_t https_port,
                      std::string const& public_url, spdlog::logger& access_log) {
  if (files_) files_->start();
  bool const http01_on_redirect = acme_ && acme_http_port_ != 0 && acme_http_port_ == redirect_port;
  if (acme_ && acme_http_port_ != 0 && !http01_on_redirect) {
    acme::add_http01_route(acme_router_, acme_->http01());
    acme_listener_ = std::make_shared<http::Listener>(
        ioc_, acme_router_,
        http::ListenerOptions{.limits = acme_limits_, .name = "acme http-01", .handler_executor = http01_executor_},
        *access_log_, log_);
    acme_listener_->bind(ip, acme_http_port_);
    acme_listener_->start();
    log_.info("acme: answering HTTP-01 challenges on port {}", acme_listener_->port());
  }
  start_redirect(ip, redirect_port, https_port, public_url, access_log, http01_on_redirect);
  if (!acme_) return;
  if (auto r = acme_->run_once(); r)
    log_.info("acme: first round: {}", acme::to_string(*r));
  else
    log_.error("acme: first round failed, the service retries: {}", r.error().message);
  acme_->start();
}

void PublicTls::start_redirect(std::string const& ip, std::uint16_t redirect_port, std::uint16_t https_port,
                               std::string const& public_url, spdlog::logger& access_log, bool http01) {
  if (redirect_port == 0) return;
  if (http01) {
    acme::add_http01_route(redirect_router_, acme_->http01());
    log_.info("acme: answering HTTP-01 challenges on the redirect port");
  }
  redirect_router_.fallback(http::https_redirect(https_port, public_url));
  redirect_ = std::make_shared<http::Listener>(
      ioc_, redirect_router_,
      http::ListenerOptions{.name = "redirect",
                            .handler_executor = http01 ? http01_executor_ : std::nullopt},
      access_log, log_);
  redirect_->bind(ip, redirect_port);
  redirect_->start();
  log_.info("port {} redirects to https", redirect_->port());
}

void PublicTls::stop() {
  if (acme_) acme_->stop();
  if (acme_listener_) acme_listener_->stop();
  if (files_) files_->stop();
  if (redirect_) redirect_->stop();
}

}  // namespace nbhub::app
