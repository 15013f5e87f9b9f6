#pragma once
// TLS for a public listener, shared by the hub and `nbhub proxy` (docs/tls.md): the
// ServerTls loaded from ssl_cert/ssl_key, the watcher that renews it without a restart
// (tls/certificate_files.hpp), and the optional plain-http port that redirects to https.
// With [tls.acme] (docs/acme.md) there are no files: the ACME service installs the pairs, and
// the HTTP-01 route is mounted on the redirect port when it is tls.acme.http_port.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "acme/acme_service.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "http/listener.hpp"
#include "http/router.hpp"
#include "tls/certificate_files.hpp"
#include "tls/server_tls.hpp"

namespace spdlog { class logger; }

namespace nbhub::app {

// The timings of the certificate watcher and of the session-ticket keys ([tls]).
struct PublicTlsOptions {
  std::chrono::seconds check_interval{10};
  std::chrono::seconds ticket_key_rotation{3600};
  // False: the watcher does not handle SIGHUP itself; the hub's one SIGHUP handler calls
  // check_files() (app/config_reloader.hpp).
  bool own_sighup = true;
};

class PublicTls {
 public:
  // Reads and checks the pair now: an unreadable file, a key that does not match, an expired
  // certificate is an error naming the file (startup exits 2). `ioc` runs the watcher.
  static Result<std::unique_ptr<PublicTls>> load(boost::asio::io_context& ioc, std::string const& cert_file,
                                                 std::string const& key_file, spdlog::logger& log,
                                                 PublicTlsOptions opts = {});
  // Reads the certificate files again now and installs a new pair (no files: nothing).
  void check_files(std::string_view why) {
    if (files_) files_->check(why);
  }

  // For ACME: a ServerTls with no pair and no files; the ACME service installs the pairs.
  static std::unique_ptr<PublicTls> without_files(boost::asio::io_context& ioc, spdlog::logger& log,
                                                  PublicTlsOptions opts = {});

  tls::ServerTls& server() noexcept { return *tls_; }
  // [tls.acme], on one made by without_files(), before start(): builds the ACME service
  // (acme/acme_service.hpp) installing its pairs here. HTTP-01 is answered on the redirect port
  // (before its redirect) when it is tls.acme.http_port, else on a plain listener of its own;
  // those handlers read the store, so they run on `blocking`. References must outlive this.
  void enable_acme(config::HubConfig const& cfg, store::Store& store, store::CryptKeeper const& crypt,
                   Clock const& clock, std::string holder_id, boost::asio::any_io_executor blocking,
                   spdlog::logger& access_log);
  // With ACME: starts the HTTP-01 listener, runs one ACME round (the stored certificate, or a
  // new one; a failure is logged and retried by the service), then the service's rounds; call
  // it before the https listener accepts. Starts watching the files; with `redirect_port` (not 0) also binds that port on `ip` and
  // answers with redirects to https on `https_port`. Throws when the port cannot be bound.
  void start(std::string const& ip, std::uint16_t redirect_port, std::uint16_t https_port,
             std::string const& public_url, spdlog::logger& access_log);
  void stop();

 private:
  void start_redirect(std::string const& ip, std::uint16_t redirect_port, std::uint16_t https_port,
                      std::string const& public_url, spdlog::logger& access_log, bool http01);
  PublicTls(boost::asio::io_context& ioc, spdlog::logger& log) : ioc_(ioc), log_(log) {}
  boost::asio::io_context& ioc_;
  spdlog::logger& log_;
  std::unique_ptr<tls::ServerTls> tls_;
  std::shared_ptr<tls::CertificateFiles> files_;  // null with ACME
  std::optional<boost::asio::any_io_executor> http01_executor_;
  std::uint16_t acme_http_port_ = 0;  // 0: no HTTP-01 listener (tls-alpn-01)
  config::HttpLimits acme_limits_;
  spdlog::logger* access_log_ = nullptr;
  http::Router acme_router_;
  std::shared_ptr<http::Listener> acme_listener_;
  std::unique_ptr<acme::AcmeService> acme_;
  http::Router redirect_router_;
  std::shared_ptr<http::Listener> redirect_;
};

}  // namespace nbhub::app
