#pragma once
// Keeps the public listener's certificate from an ACME CA (RFC 8555), shared by every hub
// process on one database:
//
//  * The account key and the certificate (chain and key) live in the store, sealed with the
//    crypt key (CryptPurpose::acme), so a restart reuses the account and the certificate.
//  * Each round (check_once) a process first installs the stored certificate when it differs
//    from the one it serves (another process renewed it), then, when there is no usable one or
//    renew_at_percent of its lifetime has passed, tries to take the renewal lease (a row with a
//    holder and an expiry; store.hpp take_acme_lease). Only the holder talks to the CA; the
//    others keep serving what they have and pick the new certificate up on a later round.
//  * run() repeats rounds every check_interval; after a failure it waits retry_min, doubling
//    per consecutive failure up to retry_max.
//
// Threads: the store is blocking, so the coroutines must run on an executor that may block
// (the hub gives the manager a thread of its own; `nbhub acme` runs it alone). One check_once
// or run at a time. Every step is logged at info; keys never are (they travel only inside
// sealed records and to TlsSink::install).
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "acme/account_key.hpp"
#include "acme/acme_client.hpp"
#include "acme/certificates.hpp"
#include "acme/challenges.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "store/crypt_keeper.hpp"
#include "store/store.hpp"

namespace spdlog { class logger; }

namespace nbhub::acme {

// A flat outcome per round: logs, the `nbhub acme --once` exit, a metric label.
enum class RoundOutcome {
  current,    // the certificate served is good and not due
  picked_up,  // installed the certificate another process (or an earlier run) stored
  obtained,   // this process got a new certificate from the CA
  waiting,    // due or missing, but another process holds the renewal lease
};
std::string_view to_string(RoundOutcome o) noexcept;

// The wait before retrying after `failures` consecutive failures (>= 1): retry_min doubled per
// further failure, at most retry_max.
std::chrono::seconds backoff_delay(unsigned failures, std::chrono::seconds retry_min,
                                   std::chrono::seconds retry_max);

// The store's names for this configuration's records (and its lease: the certificate's name).
std::string account_record_name(config::AcmeSettings const& s);
std::string certificate_record_name(config::AcmeSettings const& s);

class AcmeManager {
 public:
  // References must outlive the manager. `holder_id` names this process in the lease (unique
  // per process: e.g. host, pid and a random suffix). `crypt` must be enabled.
  AcmeManager(config::AcmeSettings settings, store::Store& store, store::CryptKeeper const& crypt,
              AcmeClient& client, ChallengeSolver& solver, TlsSink const& sink, Clock const& clock,
              Sleep sleep, std::string holder_id, spdlog::logger& log);

  // One round, as described above. Errors are the failing step's (acme_client.hpp), the
  // store's, or config (no crypt key, the CA's certificate does not fit the key).
  boost::asio::awaitable<Result<RoundOutcome>> check_once();
  // Rounds until stop(); never fails (failures are logged and retried with backoff).
  boost::asio::awaitable<void> run();
  void stop() { stopping_ = true; }
  // Told the outcome of every round run() makes (to_string(RoundOutcome), or "failed"): a
  // counter such as nbhub_acme_rounds_total{outcome}. Set before run(); must be cheap.
  void set_round_observer(std::function<void(std::string_view outcome)> observer) {
    observer_ = std::move(observer);
  }

  // The certificate being served, once one was installed.
  std::optional<CertificateInfo> const& installed() const { return installed_; }

 private:
  struct Account {
    AccountKey key;
    std::string kid;
  };
  Result<std::optional<tls::CertificatePair>> load_certificate(store::Time* updated);
  // Installs the stored certificate when it is not the one served, still valid and readable;
  // returns whether it did.
  Result<bool> pick_up_stored();
  Result<void> install(tls::CertificatePair const& pair, CertificateInfo const& info,
                       std::string_view source, store::Time updated);
  bool due(CertificateInfo const& info) const;
  boost::asio::awaitable<Result<Account>> account();
  boost::asio::awaitable<Result<void>> authorize(Account const& acct, std::string const& authz_url);
  boost::asio::awaitable<Result<void>> obtain();
  Result<void> keep_lease();

  config::AcmeSettings settings_;
  store::Store& store_;
  store::CryptKeeper const& crypt_;
  AcmeClient& client_;
  ChallengeSolver& solver_;
  TlsSink const& sink_;
  Clock const& clock_;
  Sleep sleep_;
  std::string holder_;
  spdlog::logger& log_;
  std::string account_name_, certificate_name_;
  std::optional<CertificateInfo> installed_;
  std::optional<store::Time> installed_updated_;  // the record's stamp when installed
  std::atomic<bool> stopping_{false};
  std::function<void(std::string_view)> observer_;
};

}  // namespace nbhub::acme
