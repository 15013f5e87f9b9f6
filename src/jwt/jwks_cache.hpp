#pragma once
// Per-URL cache of providers' JWKS documents, fetched through the HttpClient seam.
//
// Policy (each timing from the injected Clock):
//  * First lookup for a URL fetches. Keys are reused for `max_age`; the first lookup after that
//    refetches (serving the old keys if the refetch fails).
//  * Unknown kid (key rotation): one refetch at once, however recently the keys were fetched
//    (a provider may publish a key and sign with it a second after our last fetch), unless a
//    refetch for an unknown kid started less than unknown_kid_refetch_interval ago for that
//    URL: so tokens with random kids cost the IdP at most one request per interval. After a
//    failed attempt no fetch starts before retry_after_failure, whatever the reason.
//  * A failed fetch (transport error, non-200, not a JWKS) keeps the previously fetched keys.
//    With none, lookups fail with jwks_unavailable until an attempt succeeds.
//  * We never honour `Cache-Control` or the token's `jku`: the URL comes from provider config or
//    discovery, never from a token.
//
// Concurrency: one fetch per URL at a time. The first lookup that needs a fetch marks the URL's
// entry "in flight" (under the entry's mutex) and performs the fetch itself; lookups arriving
// meanwhile wait on that fetch's completion signal, an Asio concurrent_channel that the fetcher
// closes when done (closing wakes every waiter, on its own executor, and completes later waits
// at once). So any number of concurrent lookups on any threads share one request. A scope guard
// clears the in-flight mark and closes the channel even if the fetching coroutine is cancelled
// or destroyed, so waiters never hang on an abandoned fetch (they then see no new keys).
//
// Lifetime: holds references to `http` and `clock`, which must outlive it; the cache must
// outlive every key_for() in progress. key_for() may be called from any executor and resumes on
// the caller's executor.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.hpp"
#include "http/client.hpp"
#include "jwt/jwks.hpp"
#include "jwt/jwt_error.hpp"

namespace spdlog {
class logger;
}

namespace nbhub::jwt {

struct JwksCacheOptions {
  std::chrono::seconds max_age{3600};
  // Bounded by config (auth.jwks_refetch_interval_seconds, 1-300 s); never 0, which would let
  // every random kid through to the IdP.
  std::chrono::seconds unknown_kid_refetch_interval{5};
  std::chrono::seconds retry_after_failure{5};
  std::chrono::milliseconds fetch_timeout{10000};
  std::shared_ptr<spdlog::logger> log;  // fetches at info, failures at warn, skipped keys at debug
};

class JwksCache {
 public:
  using Options = JwksCacheOptions;

  JwksCache(http::HttpClient& http, Clock const& clock, Options opts = {});
  ~JwksCache();
  JwksCache(JwksCache const&) = delete;
  JwksCache& operator=(JwksCache const&) = delete;

  // The key of `jwks_url`'s set that verifies a token with header `kid` ("" = none) and `alg`,
  // selected as described in jwks.hpp. Errors: unsupported_alg, unknown_kid (message says
  // whether we refetched, or why not), jwks_unavailable (no keys; message names the last
  // fetch failure). Never throws.
  boost::asio::awaitable<JwtResult<std::shared_ptr<Jwk const>>> key_for(std::string jwks_url,
                                                                          std::string kid,
                                                                          std::string alg);

 private:
  struct Entry;
  struct Inflight;

  std::shared_ptr<Entry> entry_for(std::string const& url);
  // `for_kid`: the only reason to fetch is an unknown kid. Caller holds e.mu.
  bool may_attempt(Entry const& e, Clock::SysTime now, bool for_kid) const;
  std::string why_not_attempted(Entry const& e, Clock::SysTime now) const;  // likewise
  boost::asio::awaitable<void> fetch(std::string url, std::shared_ptr<Entry> e,
                                     std::shared_ptr<Inflight> flight);

  http::HttpClient& http_;
  Clock const& clock_;
  Options opts_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;  // guarded by mu_
};

}  // namespace nbhub::jwt
