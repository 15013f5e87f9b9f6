#include "app/public_tls.hpp"

#include <spdlog/spdlog.h>

#include "http/https_redirect.hpp"

namespace nbhub::app {

Result<std::unique_ptr<PublicTls>> PublicTls::load(boost::asio::io_context& ioc, std::string const& cert_file,
                                                   std::string const& key_file, spdlog::logger& log) {
  std::unique_ptr<PublicTls> p(new PublicTls(ioc, log));
  p->tls_ = std::make_unique<tls::ServerTls>(log);
  p->files_ = std::make_shared<tls::CertificateFiles>(
      ioc, *p->tls_, tls::CertificateFilesOptions{.cert_file = cert_file, .key_file = key_file}, log);
  if (auto ok = p->files_->load(); !ok) return ok.error();
  return p;
}

void PublicTls::start(std::string const& ip, std::uint16_t redirect_port, std::uint16_t https_port,
                      std::string const& public_url, spdlog::logger& access_log) {
  files_->start();
  if (redirect_port == 0) return;
  redirect_router_.fallback(http::https_redirect(https_port, public_url));
  redirect_ = std::make_shared<http::Listener>(ioc_, redirect_router_, http::ListenerOptions{.name = "redirect"},
                                               access_log, log_);
  redirect_->bind(ip, redirect_port);
  redirect_->start();
  log_.info("port {} redirects to https", redirect_->port());
}

void PublicTls::stop() {
  files_->stop();
  if (redirect_) redirect_->stop();
}

}  // namespace nbhub::app
