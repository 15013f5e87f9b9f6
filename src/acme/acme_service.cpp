#include "acme/acme_service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <spdlog/logger.h>

#include "acme/shared_http01.hpp"
#include "http/client_impl.hpp"

namespace nbhub::acme {

namespace net = boost::asio;

namespace {

config::HttpClientConfig with_ca(config::HttpClientConfig cfg, std::string const& ca_file) {
  if (!ca_file.empty()) cfg.ca_file = ca_file;
  return cfg;
}

}  // namespace

AcmeService::AcmeService(config::AcmeSettings settings, config::HttpClientConfig client_cfg,
                         store::Store& store, store::CryptKeeper const& crypt, TlsSink sink,
                         Clock const& clock, std::string holder_id, spdlog::logger& log)
    : work_(ioc_.get_executor()),
      http_(std::make_unique<http::BeastHttpClient>(ioc_, with_ca(client_cfg, settings.ca_file), log)),
      client_(*http_, clock,
              AcmeClientOptions{.directory_url = settings.directory_url,
                                .order_timeout = settings.order_timeout},
              timer_sleep(), log),
      sink_(std::move(sink)),
      responder_(store_lookup(store)),
      http_solver_(responder_, store_publisher(store, clock, log)),
      alpn_solver_(sink_, clock),
      log_(log) {
  ChallengeSolver& solver = settings.challenge == "tls-alpn-01"
                                ? static_cast<ChallengeSolver&>(alpn_solver_)
                                : static_cast<ChallengeSolver&>(http_solver_);
  manager_ = std::make_unique<AcmeManager>(std::move(settings), store, crypt, client_, solver, sink_,
                                           clock, timer_sleep(), std::move(holder_id), log);
  thread_ = std::thread([this] { ioc_.run(); });
}

AcmeService::~AcmeService() { stop(); }

Result<RoundOutcome> AcmeService::run_once() {
  auto done = net::co_spawn(ioc_, manager_->check_once(), net::use_future);
  try {
    return done.get();
  } catch (std::exception const& e) {
    return make_error(Errc::internal, std::string("acme: ") + e.what());
  }
}

void AcmeService::start() {
  net::co_spawn(ioc_, manager_->run(), [this](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (std::exception const& ex) {
      log_.critical("acme: the renewal loop ended: {}", ex.what());
    }
  });
}

void AcmeService::stop() {
  manager_->stop();
  work_.reset();
  ioc_.stop();  // a round in flight is abandoned; the lease it may hold runs out by itself
  if (thread_.joinable()) thread_.join();
}

}  // namespace nbhub::acme
