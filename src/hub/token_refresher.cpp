#include "hub/token_refresher.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "auth/refresh.hpp"
#include "core/crypto.hpp"
#include "hub/blocking.hpp"
#include "store/crypt_keeper.hpp"
#include "store/store.hpp"

namespace nbhub::hub {

namespace net = boost::asio;
namespace json = boost::json;

struct TokenRefresher::Flight {
  explicit Flight(net::any_io_executor ex) : done(std::move(ex)) {}
  // close() is the broadcast "refresh finished"; `result` is set before it.
  net::experimental::concurrent_channel<void(boost::system::error_code)> done;
  std::optional<Result<json::object>> result;
};

namespace {

constexpr std::string_view kSignInAgain = "Sign in to the hub again (log out, then log in) to get new tokens.";

std::string hash_of(std::string_view s) { return crypto::hex_encode(crypto::sha256(s)); }

std::int64_t to_unix(Clock::SysTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

TokenRefresher::TokenRefresher(SnapshotRef<std::vector<config::ProviderConfig>> providers, http::HttpClient& http,
                               store::Store& store, store::CryptKeeper const* crypt, Clock const& clock,
                               net::thread_pool& pool, spdlog::logger& log, RefreshOptions opts)
    : providers_(std::move(providers)), http_(http), store_(store), crypt_(crypt), clock_(clock), pool_(pool),
      log_(log), opts_(opts) {}

TokenRefresher::~TokenRefresher() = default;

std::shared_ptr<const config::ProviderConfig> TokenRefresher::provider_for(json::object const& state) const {
  auto const all = providers_.load();
  auto const& providers = *all;
  auto keep = [&all](config::ProviderConfig const& p) { return std::shared_ptr<const config::ProviderConfig>(all, &p); };
  if (auto name = auth::json_string(state, "provider"); !name.empty()) {
    for (auto const& p : providers)
      if (p.name == name) return keep(p);
    return nullptr;
  }
  if (providers.size() == 1) return keep(providers.front());
  // Several providers and a state from before `provider` was recorded: the client id the
  // tokens were issued to names it (ID token `aud`, access token `client_id`/`aud`).
  for (auto const* key : {"id_token", "access_token"}) {
    auto payload = auth::unverified_payload(auth::json_string(state, key));
    if (!payload) continue;
    for (auto const* claim : {"client_id", "azp", "aud"}) {
      auto v = auth::json_string(*payload, claim);
      if (v.empty()) continue;
      for (auto const& p : providers)
        if (p.client_id == v) return keep(p);
    }
  }
  return nullptr;
}

net::awaitable<Result<TokenRefresher::Loaded>> TokenRefresher::load(std::string user) {
  if (!crypt_ || !crypt_->enabled())
    co_return Error{Errc::not_found, "This hub keeps no identity-provider tokens (auth.enable_auth_state is off or NBHUB_CRYPT_KEY is not set)."};
  auto work = [this, user]() -> Result<Loaded> {
    auto row = store_.get_user(user);
    if (!row) return row.error();
    if (!row->encrypted_auth_state)
      return Error{Errc::unauthorized, fmt::format("No identity-provider tokens are stored for {}. {}", user, kSignInAgain)};
    auto dec = crypt_->decrypt(*row->encrypted_auth_state, user, store::CryptPurpose::auth_state);
    if (!dec || !dec->value.is_object())
      return Error{Errc::unauthorized, fmt::format("The stored tokens of {} cannot be read (the encryption key changed). {}", user, kSignInAgain)};
    Loaded l{std::move(dec->value.get_object()), std::nullopt};
    if (row->auth_refreshed) l.refreshed_at = to_unix(*row->auth_refreshed);
    return l;
  };
  auto r = co_await run_blocking(pool_, std::move(work));
  co_return r;
}

bool TokenRefresher::expires_soon(Loaded const& l, std::chrono::seconds extra) const {
  auto exp = auth::access_token_expiry(l.state, l.refreshed_at);
  // Unknown expiry (opaque token, no expires_in): nothing tells us to refresh; the token is
  // handed out as it is and refreshed only on demand (force).
  if (!exp) return false;
  return *exp - clock_.unix_seconds() <= (opts_.margin + extra).count();
}

net::awaitable<Result<json::object>> TokenRefresher::fresh_auth_state(std::string user, bool force,
                                                                      std::chrono::seconds extra) {
  if (!force) {
    auto l = co_await load(user);
    if (!l) co_return l.error();
    if (!expires_soon(*l, extra)) co_return std::move(l->state);
  }
  auto ex = co_await net::this_coro::executor;
  std::shared_ptr<Flight> flight;
  bool owner = false;
  {
    std::lock_guard lock(mu_);
    auto& slot = flights_[user];
    if (!slot) {
      slot = std::make_shared<Flight>(ex);
      owner = true;
    }
    flight = slot;
  }
  if (!owner) {
    // Someone is refreshing this user's tokens right now: wait for their answer.
    (void)co_await flight->done.async_receive(net::as_tuple(net::use_awaitable));
    if (flight->result) co_return *flight->result;
    co_return Error{Errc::unavailable, "The token refresh was interrupted; please try again."};
  }
  // The owner publishes its result and wakes the waiters even if it is cancelled midway.
  struct Finish {
    TokenRefresher* self;
    std::string user;
    std::shared_ptr<Flight> flight;
    ~Finish() {
      {
        std::lock_guard lock(self->mu_);
        auto it = self->flights_.find(user);
        if (it != self->flights_.end() && it->second == flight) self->flights_.erase(it);
      }
      flight->done.close();
    }
  } finish{this, user, flight};
  auto r = co_await refresh_once(user, force, extra);
  flight->result = r;
  co_return r;
}

net::awaitable<Result<json::object>> TokenRefresher::refresh_once(std::string user, bool force,
                                                                  std::chrono::seconds extra) {
  if (opts_.replica_id.empty()) co_return co_await refresh_locked(std::move(user), force, extra);
  bool waited = false;
  auto locked = co_await lock_user(user, waited);
  if (!locked) co_return locked.error();
  if (!*locked) {
    // Another replica has been refreshing for user_lock_wait: serve what is stored if it is
    // still valid, never present the refresh token it may be rotating.
    auto l = co_await load(user);
    if (!l) co_return l.error();
    auto exp = auth::access_token_expiry(l->state, l->refreshed_at);
    if (exp && *exp > clock_.unix_seconds()) co_return std::move(l->state);
    co_return Error{Errc::unavailable, fmt::format("Another hub replica is renewing the tokens of {}; try again in a minute.", user)};
  }
  // Another replica refreshed while we waited: its tokens are as fresh as a forced refresh
  // would make them, and asking again would spend a grant for nothing.
  auto r = co_await refresh_locked(user, force && !waited, extra);
  co_await unlock_user(user);
  co_return r;
}

net::awaitable<Result<bool>> TokenRefresher::lock_user(std::string const& user, bool& waited) {
  auto const name = "refresh " + user;
  auto const deadline = std::chrono::steady_clock::now() + opts_.user_lock_wait;
  net::steady_timer timer(co_await net::this_coro::executor);
  for (;;) {
    auto const now = clock_.now();
    auto const until = now + std::chrono::duration_cast<Clock::SysTime::duration>(opts_.user_lock_ttl);
    auto take = [this, name, now, until]() { return store_.take_lease(name, opts_.replica_id, now, until); };
    auto got = co_await run_blocking(pool_, std::move(take));
    if (!got) co_return got.error();
    if (*got) co_return true;
    waited = true;
    if (std::chrono::steady_clock::now() >= deadline) co_return false;
    timer.expires_after(std::chrono::milliseconds(50));
    boost::system::error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

net::awaitable<void> TokenRefresher::unlock_user(std::string const& user) {
  auto release = [this, name = "refresh " + user]() { return store_.release_lease(name, opts_.replica_id); };
  if (auto r = co_await run_blocking(pool_, std::move(release)); !r)
    log_.warn("token refresh for {}: releasing its lease: {} (it runs out by itself)", user, r.error().message);
}

net::awaitable<Result<json::object>> TokenRefresher::refresh_locked(std::string user, bool force,
                                                                    std::chrono::seconds extra) {
  // Re-read under the single flight: a refresh that finished just before ours began already
  // stored a fresh token.
  auto l = co_await load(user);
  if (!l) co_return l.error();
  if (!force && !expires_soon(*l, extra)) co_return std::move(l->state);
  auto exp = auth::access_token_expiry(l->state, l->refreshed_at);
  bool still_valid = exp && *exp > clock_.unix_seconds();

  auto p = provider_for(l->state);
  auto rt = auth::json_string(l->state, "refresh_token");
  if (!p || rt.empty()) {
    if (still_valid) co_return std::move(l->state);
    co_return Error{Errc::unauthorized, fmt::format("The access token of {} has expired and the identity provider gave no refresh token to renew it. {}", user, kSignInAgain)};
  }
  auto rt_hash = hash_of(rt);
  {
    std::lock_guard lock(mu_);
    if (dead_refresh_tokens_.contains(rt_hash)) {
      if (still_valid) co_return std::move(l->state);
      co_return Error{Errc::unauthorized, fmt::format("The identity provider refused to renew the tokens of {}. {}", user, kSignInAgain)};
    }
  }
  ++grants_;
  auto answer = co_await auth::refresh_grant(*p, http_, rt, log_);
  if (!answer) {
    if (answer.error().code == Errc::unauthorized) {
      {
        std::lock_guard lock(mu_);
        if (dead_refresh_tokens_.size() > 10000) dead_refresh_tokens_.clear();  // bounded
        dead_refresh_tokens_.insert(rt_hash);
      }
      log_.warn("token refresh for {} via {} refused; they must sign in again", user, p->name);
      if (still_valid) co_return std::move(l->state);
      co_return Error{Errc::unauthorized, fmt::format("The identity provider refused to renew the tokens of {}. {}", user, kSignInAgain)};
    }
    if (still_valid) {
      log_.warn("token refresh for {} via {} failed ({}); the current access token is still valid and is used", user, p->name, answer.error().message);
      co_return std::move(l->state);
    }
    co_return Error{Errc::unavailable, fmt::format("The access token of {} has expired and the identity provider could not renew it right now ({}). Try again in a minute.", user, answer.error().message)};
  }
  auto now = clock_.unix_seconds();
  auto merged = auth::merge_refreshed(std::move(l->state), *answer, now);
  merged["provider"] = p->name;
  auto save = [this, user, merged]() -> Result<void> {
    auto sealed = crypt_->encrypt(merged, user, store::CryptPurpose::auth_state);
    if (!sealed) return sealed.error();
    if (auto r = store_.set_auth_state(user, *sealed); !r) return r.error();
    return store_.set_auth_refreshed(user, clock_.now());
  };
  auto saved = co_await run_blocking(pool_, std::move(save));
  if (!saved) {
    // The IdP may have rotated the refresh token: the new one lives only in `merged` now.
    // Handing out the access token is still right; the next refresh will need a new login
    // if the store stays down, which the log says.
    log_.error("token refresh for {}: new tokens could not be stored: {}", user, saved.error().message);
  }
  log_.info("refreshed the identity-provider tokens of {} via {}{}", user, p->name,
            auth::json_string(*answer, "refresh_token").empty() ? "" : " (refresh token rotated)");
  co_return merged;
}

net::awaitable<Result<std::map<std::string, std::string>>> TokenRefresher::spawn_environment(
    std::string user, bool refresh, std::string access_env, std::string id_env) {
  std::map<std::string, std::string> env;
  if (!refresh && access_env.empty() && id_env.empty()) co_return env;
  auto state = co_await fresh_auth_state(user);
  if (!state) {
    if (state.error().code == Errc::not_found) co_return env;  // the hub keeps no tokens
    if (refresh)
      co_return Error{state.error().code, "Your sign-in tokens could not be renewed before starting your server: " + state.error().message};
    log_.warn("spawn of {}'s server: no identity-provider tokens for its environment: {}", user, state.error().message);
    co_return env;
  }
  if (!access_env.empty()) env[access_env] = auth::json_string(*state, "access_token");
  if (auto id = auth::json_string(*state, "id_token"); !id_env.empty() && !id.empty()) env[id_env] = id;
  co_return env;
}

net::awaitable<void> TokenRefresher::refresh_due(std::chrono::seconds every) {
  if (!crypt_ || !crypt_->enabled()) co_return;
  std::vector<std::string> names;
  auto list = [this]() -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    for (std::int64_t offset = 0;; offset += 500) {
      auto page = store_.list_users(offset, 500);
      if (!page) return page.error();
      for (auto const& u : *page)
        if (u.encrypted_auth_state) out.push_back(u.name);
      if (page->size() < 500) break;
    }
    return out;
  };
  auto r = co_await run_blocking(pool_, std::move(list));
  if (!r) {
    log_.warn("periodic token refresh: cannot list users: {}", r.error().message);
    co_return;
  }
  for (auto const& name : *r) {
    auto s = co_await fresh_auth_state(name, false, every);
    if (!s && s.error().code == Errc::unavailable)
      log_.warn("periodic token refresh for {}: {}", name, s.error().message);
  }
}

}  // namespace nbhub::hub
