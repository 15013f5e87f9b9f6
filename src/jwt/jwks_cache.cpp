#include "jwt/jwks_cache.hpp"

#include <fmt/format.h>
#include <spdlog/logger.h>

#include <exception>
#include <optional>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace nbhub::jwt {

namespace net = boost::asio;
using std::chrono::duration_cast;
using std::chrono::seconds;

struct JwksCache::Inflight {
  explicit Inflight(net::any_io_executor ex) : done(std::move(ex)) {}
  // Never carries a message: close() is the broadcast "fetch finished".
  net::experimental::concurrent_channel<void(boost::system::error_code)> done;
};

struct JwksCache::Entry {
  std::mutex mu;
  // All below guarded by mu.
  std::shared_ptr<Jwks const> keys;  // last successfully fetched set
  Clock::SysTime fetched_at{};
  std::optional<Clock::SysTime> last_attempt;
  std::optional<Clock::SysTime> last_kid_refetch;  // start of the last fetch for an unknown kid
  bool last_failed = false;
  std::string last_error;
  std::shared_ptr<Inflight> inflight;
};

JwksCache::JwksCache(http::HttpClient& http, Clock const& clock, Options opts)
    : http_(http), clock_(clock), opts_(std::move(opts)) {}

JwksCache::~JwksCache() = default;

std::shared_ptr<JwksCache::Entry> JwksCache::entry_for(std::string const& url) {
  std::lock_guard lk(mu_);
  auto& e = entries_[url];
  if (!e) e = std::make_shared<Entry>();
  return e;
}

bool JwksCache::may_attempt(Entry const& e, Clock::SysTime now, bool for_kid) const {
  if (e.last_attempt && e.last_failed && now - *e.last_attempt < opts_.retry_after_failure)
    return false;
  if (for_kid && e.last_kid_refetch &&
      now - *e.last_kid_refetch < opts_.unknown_kid_refetch_interval)
    return false;
  return true;
}

std::string JwksCache::why_not_attempted(Entry const& e, Clock::SysTime now) const {
  auto ago = [&](std::optional<Clock::SysTime> t) {
    return duration_cast<seconds>(now - t.value_or(now)).count();
  };
  if (e.last_attempt && e.last_failed && now - *e.last_attempt < opts_.retry_after_failure)
    return fmt::format("the last fetch failed {} s ago and retry_after_failure is {} s",
                       ago(e.last_attempt), opts_.retry_after_failure.count());
  // Otherwise it was held back by the unknown-kid limit, the only other reason there is.
  return fmt::format("a refetch for an unknown kid started {} s ago and the refetch interval "
                     "is {} s",
                     ago(e.last_kid_refetch), opts_.unknown_kid_refetch_interval.count());
}

net::awaitable<void> JwksCache::fetch(std::string url, std::shared_ptr<Entry> e,
                                      std::shared_ptr<Inflight> flight) {
  // Runs on every exit, including cancellation and frame destruction at shutdown; touches only
  // what it co-owns (not `this`), so it is safe even after the cache is gone.
  struct Finish {
    std::shared_ptr<Entry> e;
    std::shared_ptr<Inflight> flight;
    bool completed = false;
    ~Finish() {
      {
        std::lock_guard lk(e->mu);
        if (e->inflight == flight) e->inflight.reset();
        if (!completed) {  // counts as a failure, so the next try waits retry_after_failure only
          e->last_failed = true;
          e->last_error = "the fetch was cancelled before it finished";
        }
      }
      flight->done.close();
    }
  } finish{e, flight};

  http::ClientRequest req;
  req.method = "GET";
  req.url = url;
  req.headers = {{"Accept", "application/jwk-set+json, application/json"}};
  req.timeout = opts_.fetch_timeout;

  std::string error;
  std::optional<Jwks> parsed;
  try {
    auto resp = co_await http_.send(std::move(req));
    if (!resp) {
      error = resp.error().message;
    } else if (resp->status != 200) {
      error = fmt::format("GET {} returned HTTP {}", url, resp->status);
    } else if (auto set = Jwks::parse(resp->body, url); !set) {
      error = set.error().message;
    } else {
      parsed = std::move(*set);
    }
  } catch (std::exception const& ex) {  // HttpClient promises not to throw; cancellation may
    error = fmt::format("GET {} failed: {}", url, ex.what());
  }

  auto const now = clock_.now();
  finish.completed = true;
  bool const ok = parsed.has_value();
  if (!ok && error.empty()) error = fmt::format("GET {} failed", url);
  std::shared_ptr<Jwks const> keys;  // what lookups use from now on
  {
    std::lock_guard lk(e->mu);
    e->last_failed = !ok;
    if (ok) {
      e->keys = std::make_shared<Jwks const>(std::move(*parsed));
      e->fetched_at = now;
      e->last_error.clear();
    } else {
      e->last_error = error;
    }
    keys = e->keys;
  }
  if (auto const& log = opts_.log) {  // outside the lock: logging may do I/O
    auto const n = keys ? keys->keys().size() : 0;
    if (ok) {
      log->info("jwks: fetched {} ({} signing keys)", url, n);
      for (auto const& note : keys->notes()) log->debug("jwks: {}: {}", url, note);
    } else {
      log->warn("jwks: {}; {}", error,
                n ? fmt::format("still using the {} keys fetched before", n)
                  : std::string("no keys cached: tokens from this provider fail"));
    }
  }
}

net::awaitable<JwtResult<std::shared_ptr<Jwk const>>> JwksCache::key_for(std::string url,
                                                                         std::string kid,
                                                                         std::string alg_name) {
  auto const alg = alg_from_string(alg_name);
  if (!alg)
    co_return JwtError{JwtCode::unsupported_alg,
                       fmt::format("token uses alg '{}', which nbhub does not verify", alg_name)};
  auto const e = entry_for(url);
  auto const ex = co_await net::this_coro::executor;  // waiters on other executors are fine

  bool refetched = false;    // a fetch (ours or joined) completed during this lookup
  bool kid_missing = false;  // the current keys lack the token's kid: try one refetch
  std::string held_back;     // why a wanted fetch did not start
  for (;;) {
    std::shared_ptr<Inflight> flight;
    bool mine = false;
    std::shared_ptr<Jwks const> keys;
    std::string last_error;
    bool last_failed = false;
    {
      std::lock_guard lk(e->mu);
      auto const now = clock_.now();
      bool const stale = !e->keys || now - e->fetched_at >= opts_.max_age;
      bool const want = !refetched && (stale || kid_missing);
      bool const for_kid = want && !stale;  // only the kid: the flood limit applies
      if (want && e->inflight) {
        flight = e->inflight;  // whatever started it, it brings the newest keys
      } else if (want && may_attempt(*e, now, for_kid)) {
        flight = e->inflight = std::make_shared<Inflight>(ex);
        e->last_attempt = now;
        if (for_kid) e->last_kid_refetch = now;
        mine = true;
      } else {
        if (want) held_back = why_not_attempted(*e, now);
        keys = e->keys;
        last_error = e->last_error;
        last_failed = e->last_failed;
      }
    }
    if (flight) {
      if (mine) {
        co_await fetch(url, e, flight);
      } else {
        // channel_closed is the expected outcome; any error means "fetch over" too.
        (void)co_await flight->done.async_receive(net::as_tuple(net::use_awaitable));
      }
      refetched = true;
      continue;
    }

    if (!keys)
      co_return JwtError{
          JwtCode::jwks_unavailable,
          fmt::format("token cannot be verified: the provider's JWKS ({}) could not be fetched "
                      "({}) and no keys are cached{}; check the jwks_uri and the hub's network "
                      "access to it",
                      url, last_error.empty() ? "no attempt yet" : last_error,
                      held_back.empty() ? "" : fmt::format("; not retried yet because {}",
                                                           held_back))};
    auto key = keys->select(kid, *alg);
    if (key || key.error().code != JwtCode::unknown_kid) co_return key;
    // boost::system::result::error() returns a copy: amend it and return that.
    if (refetched) {
      auto err = key.error();
      err.message += last_failed ? fmt::format(" (refetching failed: {})", last_error)
                                 : std::string(" even after refetching");
      co_return err;
    }
    if (kid_missing) {
      auto err = key.error();
      err.message += fmt::format("; not refetched because {}", held_back);
      co_return err;
    }
    kid_missing = true;
  }
}

}  // namespace nbhub::jwt
