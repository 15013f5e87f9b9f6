#pragma once
// TLS for a public listener, shared by the hub and `nbhub proxy` (docs/tls.md): the
// ServerTls loaded from ssl_cert/ssl_key, the watcher that renews it without a restart
// (tls/certificate_files.hpp), and the optional plain-http port that redirects to https.
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "http/listener.hpp"
#include "http/router.hpp"
#include "tls/certificate_files.hpp"
#include "tls/server_tls.hpp"

namespace spdlog { class logger; }

namespace nbhub::app {

class PublicTls {
 public:
  // Reads and checks the pair now: an unreadable file, a key that does not match, an expired
  // certificate is an error naming the file (startup exits 2). `ioc` runs the watcher.
  static Result<std::unique_ptr<PublicTls>> load(boost::asio::io_context& ioc, std::string const& cert_file,
                                                 std::string const& key_file, spdlog::logger& log);

  tls::ServerTls& server() noexcept { return *tls_; }
  // Starts watching the files; with `redirect_port` (not 0) also binds that port on `ip` and
  // answers with redirects to https on `https_port`. Throws when the port cannot be bound.
  void start(std::string const& ip, std::uint16_t redirect_port, std::uint16_t https_port,
             std::string const& public_url, spdlog::logger& access_log);
  void stop();

 private:
  PublicTls(boost::asio::io_context& ioc, spdlog::logger& log) : ioc_(ioc), log_(log) {}
  boost::asio::io_context& ioc_;
  spdlog::logger& log_;
  std::unique_ptr<tls::ServerTls> tls_;
  std::shared_ptr<tls::CertificateFiles> files_;
  http::Router redirect_router_;
  std::shared_ptr<http::Listener> redirect_;
};

}  // namespace nbhub::app
