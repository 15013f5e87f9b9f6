#pragma once
// Everything [tls.acme] needs, in one owner for app/ to build: a thread of its own (the
// manager's store calls block, so it never runs on the hub's I/O threads), an HTTP client that
// trusts tls.acme.ca_file, the HTTP-01 answers shared through the store, the solver the
// configuration chooses, and the manager (acme_manager.hpp).
//
// Wiring (app/): build it after the store and the crypt keeper, with a TlsSink calling the
// public listener's ServerTls; mount add_http01_route(router, service.http01()) on a plain-http
// listener on tls.acme.http_port (or the redirect port) whose handlers may block; call
// run_once() before the https listener accepts (serves the stored certificate, or obtains one),
// then start(). stop() (or the destructor) ends the rounds and joins the thread.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <thread>

#include "acme/acme_client.hpp"
#include "acme/acme_manager.hpp"
#include "acme/challenges.hpp"
#include "config/config.hpp"

namespace nbhub::http { class HttpClient; }

namespace nbhub::acme {

class AcmeService {
 public:
  // References must outlive the service. `client_cfg` is the hub's http_client section;
  // tls.acme.ca_file, when set, replaces its ca_file. `holder_id` names this process in leases.
  AcmeService(config::AcmeSettings settings, config::HttpClientConfig client_cfg, store::Store& store,
              store::CryptKeeper const& crypt, TlsSink sink, Clock const& clock, std::string holder_id,
              spdlog::logger& log);
  ~AcmeService();
  AcmeService(AcmeService const&) = delete;
  AcmeService& operator=(AcmeService const&) = delete;

  Http01Responder const& http01() const { return responder_; }
  AcmeManager& manager() { return *manager_; }

  // One round on the service's thread; blocks the caller until it ends. Not after start().
  Result<RoundOutcome> run_once();
  // Rounds (AcmeManager::run) on the service's thread until stop().
  void start();
  void stop();

 private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<http::HttpClient> http_;
  AcmeClient client_;
  TlsSink sink_;
  Http01Responder responder_;
  Http01Solver http_solver_;
  TlsAlpnSolver alpn_solver_;
  std::unique_ptr<AcmeManager> manager_;
  spdlog::logger& log_;
  std::thread thread_;  // last: starts after everything it uses exists
};

}  // namespace nbhub::acme
