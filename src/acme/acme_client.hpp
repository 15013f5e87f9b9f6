#pragma once
// The ACME protocol client (RFC 8555): directory, nonces, account, order, authorizations,
// challenges, finalize and certificate download. Knows nothing of handlers or the store: the
// challenge answers are published through a ChallengeSolver (challenges.hpp), the results are
// returned to the caller (acme_manager.hpp).
//
// Contract:
//  * Coroutines run on the caller's executor; one operation at a time per client (the nonce
//    and the directory are per client state, not guarded).
//  * Every error is Errc::unavailable (the server could not be reached, or a poll ran past
//    order_timeout), bad_gateway (the server answered something that is not ACME), or the
//    server's refusal mapped by problem_error(): its message names the step and quotes the
//    problem document's type and detail, e.g. "acme newOrder (https://acme/new-order): HTTP
//    403 urn:ietf:params:acme:error:unauthorized: ...". Messages never carry keys.
//  * badNonce answers (RFC 8555 §6.5) are retried with a fresh nonce up to bad_nonce_retries.
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "acme/account_key.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "http/client.hpp"

namespace spdlog { class logger; }

namespace nbhub::acme {

struct AcmeClientOptions {
  std::string directory_url;
  int bad_nonce_retries = 3;
  std::chrono::seconds poll_interval{2};   // between polls when the server sends no Retry-After
  std::chrono::seconds max_retry_after{60};  // a longer Retry-After is cut to this
  std::chrono::seconds order_timeout{300};   // the most a validation or finalize may take
};

// Waits; injected so that tests decide how time passes. The default is an Asio timer on the
// caller's executor.
using Sleep = std::function<boost::asio::awaitable<void>(std::chrono::milliseconds)>;
Sleep timer_sleep();

struct Challenge {
  std::string type;  // "http-01", "tls-alpn-01", "dns-01"
  std::string url;
  std::string token;
  std::string status;
};

struct Authorization {
  std::string url;
  std::string domain;
  std::string status;  // pending, valid, invalid, deactivated, expired, revoked
  std::vector<Challenge> challenges;
  std::string error;   // a failed challenge's problem, described
};

struct Order {
  std::string url;
  std::string status;  // pending, ready, processing, valid, invalid
  std::vector<std::string> authorizations;
  std::string finalize;
  std::string certificate;
  std::string error;
};

struct Problem {
  std::string type;    // "urn:ietf:params:acme:error:badNonce"
  std::string detail;
};

// The problem document (RFC 7807) of an error response, or nullopt when the body is not one.
std::optional<Problem> parse_problem(http::ClientResponse const& res);
// An error for an unexpected answer to `step` at `url`: the status and, when present, the
// problem's type and detail. 4xx map to bad_request (429 and 5xx to unavailable).
Error problem_error(std::string_view step, std::string_view url, http::ClientResponse const& res);

class AcmeClient {
 public:
  // All references must outlive the client.
  AcmeClient(http::HttpClient& http, Clock const& clock, AcmeClientOptions opts, Sleep sleep,
             spdlog::logger& log);

  // Fetches the directory (once; later calls reuse it).
  boost::asio::awaitable<Result<void>> load_directory();
  // The CA's terms of service URL from the directory's meta, or "".
  std::string const& terms_of_service() const { return terms_; }

  // newAccount (RFC 8555 §7.3): creates the account, or finds the existing one for this key
  // (the server answers 200), and returns its URL (the "kid" of later requests).
  boost::asio::awaitable<Result<std::string>> register_account(AccountKey const& key,
                                                               std::string contact_email);

  boost::asio::awaitable<Result<Order>> new_order(AccountKey const& key, std::string kid,
                                                  std::vector<std::string> domains);
  boost::asio::awaitable<Result<Authorization>> get_authorization(AccountKey const& key,
                                                                  std::string kid, std::string url);
  // Tells the server the challenge is ready to be validated (POST {}).
  boost::asio::awaitable<Result<void>> respond(AccountKey const& key, std::string kid,
                                               std::string challenge_url);
  // Polls until the authorization leaves "pending"; returns it (valid or not).
  boost::asio::awaitable<Result<Authorization>> wait_authorization(AccountKey const& key,
                                                                   std::string kid, std::string url);
  // Sends the CSR and polls the order until it is valid; returns the order (with its
  // certificate URL). An invalid order is an error quoting the order's problem.
  boost::asio::awaitable<Result<Order>> finalize(AccountKey const& key, std::string kid,
                                                 Order order, std::string csr_der);
  // The PEM chain (application/pem-certificate-chain).
  boost::asio::awaitable<Result<std::string>> download_certificate(AccountKey const& key,
                                                                   std::string kid, std::string url);

 private:
  struct Posted {
    http::ClientResponse res;
    std::optional<boost::json::object> json;  // the body, when it is a JSON object
  };
  // A signed POST (payload nullopt: POST-as-GET) with badNonce retries. Non-2xx answers are
  // errors by problem_error(step, ...).
  boost::asio::awaitable<Result<Posted>> post(std::string_view step, AccountKey const& key,
                                              std::string kid, std::string url,
                                              std::optional<std::string> payload,
                                              std::string accept = {});
  boost::asio::awaitable<Result<std::string>> fresh_nonce();
  std::chrono::milliseconds retry_after(http::ClientResponse const& res) const;

  http::HttpClient& http_;
  Clock const& clock_;
  AcmeClientOptions opts_;
  Sleep sleep_;
  spdlog::logger& log_;
  bool have_directory_ = false;
  std::string new_nonce_, new_account_, new_order_, terms_;
  std::string nonce_;  // the last Replay-Nonce seen; used once
};

}  // namespace nbhub::acme
