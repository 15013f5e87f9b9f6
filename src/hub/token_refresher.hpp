#pragma once
// Keeps the identity provider's tokens in users' auth_state usable (issue 6, spec/auth.md §1.9,
// §2.2, §6): on demand (`GET /hub/api/user/oauth-token`, before a spawn) and periodically, the
// stored access token is refreshed with the refresh token once it expires within `margin`.
//
// Policy:
//  * Single flight per user: concurrent callers for the same user share one refresh grant
//    (one IdP call, one store write); a rotated refresh token is therefore used exactly once.
//    Across replicas, the grant runs under a per-user store lease and the stored tokens are
//    read again under it (RefreshOptions::replica_id), so two replicas never present one
//    refresh token twice.
//  * Rotation: a new refresh token in the answer replaces the stored one; without one (Cognito)
//    the old one is kept.
//  * The provider refuses the refresh token (revoked, expired, invalid_grant): Errc::unauthorized
//    "sign in again". That refresh token is remembered as dead in memory, so later calls answer
//    at once instead of asking the IdP again; a new login stores a new one.
//  * The provider is down (transport error, 5xx, garbage): the current access token is returned
//    while it has not expired yet (the refresh is retried on the next call); once it has,
//    Errc::unavailable ("try again later"): the user's tokens are not thrown away for an outage.
//
// Thread-safety: every method may be called from any executor, concurrently.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/snapshot.hpp"
#include "http/client.hpp"

namespace spdlog { class logger; }
namespace nbhub::store { class Store; class CryptKeeper; }

namespace nbhub::hub {

struct RefreshOptions {
  std::chrono::seconds margin{300};  // refresh when the access token expires within this
  // Single flight across replicas (docs/replicas.md): the refresh of one user runs under the
  // store lease "refresh <user>" held as `replica_id`; empty leaves it to the in-memory
  // single flight (one process). A holder that dies mid-grant frees the user after
  // `user_lock_ttl`; a caller waits at most `user_lock_wait` for another replica's refresh.
  std::string replica_id;
  std::chrono::milliseconds user_lock_ttl{60000};
  std::chrono::milliseconds user_lock_wait{20000};
};

class TokenRefresher {
 public:
  // `providers` (with presets applied) and every reference must outlive the refresher. `crypt`
  // may be null: no auth_state is stored then, and every call fails with not_found.
  TokenRefresher(SnapshotRef<std::vector<config::ProviderConfig>> providers, http::HttpClient& http,
                 store::Store& store, store::CryptKeeper const* crypt, Clock const& clock,
                 boost::asio::thread_pool& pool, spdlog::logger& log, RefreshOptions opts = {});
  ~TokenRefresher();

  // The user's auth_state whose access token is valid for at least `margin` (plus `extra`)
  // when the provider allows, refreshing first if needed (or always, with `force`).
  // Errors: not_found (the hub keeps no tokens: auth_state off or no key; or no such user),
  // unauthorized (none stored for this user, or the provider refused to renew them: the user
  // must sign in again), unavailable (provider or store down and the token
  // expired). Messages are for the user and say what to do.
  boost::asio::awaitable<Result<boost::json::object>> fresh_auth_state(
      std::string user, bool force = false, std::chrono::seconds extra = std::chrono::seconds{0});

  // Before a spawn: with `refresh` (refresh_pre_spawn) the tokens are made fresh and a failure
  // fails the spawn with a message; then `access_env`/`id_env` (when not empty) receive the
  // access and ID tokens. Without `refresh`, missing tokens only leave the variables unset.
  boost::asio::awaitable<Result<std::map<std::string, std::string>>> spawn_environment(
      std::string user, bool refresh, std::string access_env, std::string id_env);

  // One round of the periodic refresh: every user with stored tokens whose access token
  // expires before the next round (`every` + margin) is refreshed. Failures are logged.
  boost::asio::awaitable<void> refresh_due(std::chrono::seconds every);

  // The provider a user's auth_state came from (recorded `provider`, the only provider, or the
  // one whose client id the tokens name), or null.
  // The pointer keeps the provider set it came from alive (a reload may replace it).
  std::shared_ptr<const config::ProviderConfig> provider_for(boost::json::object const& auth_state) const;

  // Refresh grants sent so far (tests, metrics).
  std::size_t grants_sent() const { return grants_.load(); }

 private:
  struct Flight;
  struct Loaded {
    boost::json::object state;
    std::optional<std::int64_t> refreshed_at;
  };
  boost::asio::awaitable<Result<Loaded>> load(std::string user);
  boost::asio::awaitable<Result<boost::json::object>> refresh_once(std::string user, bool force,
                                                                  std::chrono::seconds extra);
  boost::asio::awaitable<Result<boost::json::object>> refresh_locked(std::string user, bool force,
                                                                    std::chrono::seconds extra);
  // Takes the user's cross-replica lease, waiting for another replica's refresh; false when
  // the wait ran out. `waited` says whether another replica held it meanwhile.
  boost::asio::awaitable<Result<bool>> lock_user(std::string const& user, bool& waited);
  boost::asio::awaitable<void> unlock_user(std::string const& user);
  bool expires_soon(Loaded const& l, std::chrono::seconds extra) const;

  SnapshotRef<std::vector<config::ProviderConfig>> providers_;
  http::HttpClient& http_;
  store::Store& store_;
  store::CryptKeeper const* crypt_;
  Clock const& clock_;
  boost::asio::thread_pool& pool_;
  spdlog::logger& log_;
  RefreshOptions opts_;
  std::atomic<std::size_t> grants_{0};
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;  // GUARDED_BY(mu_), by user
  std::set<std::string> dead_refresh_tokens_;               // GUARDED_BY(mu_), sha256 hex
};

}  // namespace nbhub::hub
