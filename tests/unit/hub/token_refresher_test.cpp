// TokenRefresher (hub/token_refresher.hpp) with the real SQLite store and CryptKeeper; the IdP's
// token endpoint is a scripted stand-in at the HttpClient seam (held requests line up
// concurrent callers). The real IdP round trip is tests/integration/test_notebook_tokens.py.
#include "hub/token_refresher.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "auth/refresh.hpp"
#include "core/random.hpp"
#include "store/crypt_keeper.hpp"
#include "store/store.hpp"
#include "unit/jwt/fake_http_client.hpp"

namespace nbhub::hub {
namespace {

namespace json = boost::json;
namespace net = boost::asio;
using namespace std::chrono_literals;
using jwt::test::FakeHttpClient;

spdlog::logger& quiet() {
  static auto l = std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>());
  return *l;
}

struct Rig {
  FakeClock clock{Clock::SysTime{} + std::chrono::seconds{1767225600}};
  OpenSslRandom random;
  store::CryptKeeper crypt = *store::CryptKeeper::from_keys(
      "NBHUB_CRYPT_KEY", "0000000000000000000000000000000000000000000000000000000000000001", random);
  std::unique_ptr<store::Store> st;
  FakeHttpClient http;
  net::thread_pool pool{2};
  std::vector<config::ProviderConfig> providers;
  std::unique_ptr<TokenRefresher> refresher;

  Rig() {
    st = std::move(*store::Store::open("sqlite://", clock));
    EXPECT_TRUE(st->migrate());
    config::ProviderConfig p;
    p.name = "idp";
    p.client_id = "hub";
    p.client_secret = Secret("s");
    p.token_url = "https://idp.test/token";
    providers.push_back(p);
    refresher = std::make_unique<TokenRefresher>(providers, http, *st, &crypt, clock, pool, quiet(),
                                                 RefreshOptions{.margin = 300s});
  }
  ~Rig() { pool.join(); }

  std::int64_t now() const { return clock.unix_seconds(); }

  void store_state(std::string const& user, json::object state) {
    store::LoginUpdate up{.name = user};
    up.encrypted_auth_state = *crypt.encrypt(state, user);
    ASSERT_TRUE(st->upsert_user_on_login(up));
  }
  json::object stored(std::string const& user) {
    auto row = st->get_user(user);
    return crypt.decrypt(*row->encrypted_auth_state, user)->value.as_object();
  }
  Result<json::object> fresh(std::string user) {
    return jwt::test::run_sync(refresher->fresh_auth_state(std::move(user)));
  }
};

json::object state(std::string at, std::string rt, std::int64_t expires_at) {
  return {{"access_token", at}, {"refresh_token", rt}, {"id_token", "id-1"}, {"expires_at", expires_at},
          {"token_response", json::object{{"access_token", at}}}};
}

TEST(TokenRefresher, ValidTokenIsReturnedWithoutCallingTheProvider) {
  Rig r;
  r.store_state("alice", state("at-1", "rt-1", r.now() + 3600));
  auto s = r.fresh("alice");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(auth::json_string(*s, "access_token"), "at-1");
  EXPECT_EQ(r.http.calls, 0);
}

TEST(TokenRefresher, NearExpiryRefreshesStoresAndRotates) {
  Rig r;
  r.store_state("alice", state("at-1", "rt-1", r.now() + 100));  // inside the 300 s margin
  r.http.serve(R"({"access_token":"at-2","refresh_token":"rt-2","expires_in":3600,"token_type":"Bearer"})");
  auto s = r.fresh("alice");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(auth::json_string(*s, "access_token"), "at-2");
  EXPECT_EQ(r.http.calls, 1);
  EXPECT_NE(r.http.requests[0].body.find("refresh_token=rt-1"), std::string::npos);
  auto saved = r.stored("alice");
  EXPECT_EQ(auth::json_string(saved, "access_token"), "at-2");
  EXPECT_EQ(auth::json_string(saved, "refresh_token"), "rt-2");
  EXPECT_EQ(auth::json_string(saved, "id_token"), "id-1");
  EXPECT_EQ(saved.at("expires_at").as_int64(), r.now() + 3600);
  EXPECT_EQ(auth::json_string(saved, "provider"), "idp");

  // The next refresh presents the rotated token.
  r.clock.advance(3500s);
  r.http.serve(R"({"access_token":"at-3","expires_in":3600})");
  ASSERT_TRUE(r.fresh("alice"));
  EXPECT_NE(r.http.requests[1].body.find("refresh_token=rt-2"), std::string::npos);
  EXPECT_EQ(auth::json_string(r.stored("alice"), "refresh_token"), "rt-2");  // no rotation: kept
}

TEST(TokenRefresher, ConcurrentCallersShareOneRefresh) {
  Rig r;
  r.store_state("alice", state("at-1", "rt-1", r.now() + 10));
  r.http.serve(R"({"access_token":"at-2","refresh_token":"rt-2","expires_in":3600})");
  r.http.hold = true;
  net::io_context ioc;
  std::vector<std::string> got;
  constexpr int kCallers = 8;
  for (int i = 0; i < kCallers; ++i)
    net::co_spawn(ioc, [&]() -> net::awaitable<void> {
      auto s = co_await r.refresher->fresh_auth_state("alice");
      got.push_back(s ? auth::json_string(*s, "access_token") : "error: " + s.error().message);
    }, net::detached);
  net::co_spawn(ioc, [&]() -> net::awaitable<void> {
    net::steady_timer t(ioc);
    for (int i = 0; i < 400 && r.http.calls == 0; ++i) {
      t.expires_after(5ms);
      co_await t.async_wait(net::use_awaitable);
    }
    t.expires_after(100ms);  // let every caller reach the flight
    co_await t.async_wait(net::use_awaitable);
    r.http.release();
  }, net::detached);
  ioc.run();
  EXPECT_EQ(r.http.calls, 1);
  EXPECT_EQ(r.refresher->grants_sent(), 1u);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kCallers));
  for (auto const& g : got) EXPECT_EQ(g, "at-2");
}

TEST(TokenRefresher, RefusedRefreshSaysSignInAgainAndIsNotRetried) {
  Rig r;
  r.store_state("alice", state("at-1", "rt-1", r.now() - 10));  // expired
  r.http.serve(R"({"error":"invalid_grant"})", 400);
  auto s = r.fresh("alice");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::unauthorized);
  EXPECT_NE(s.error().message.find("Sign in to the hub again"), std::string::npos);
  auto again = r.fresh("alice");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::unauthorized);
  EXPECT_EQ(r.http.calls, 1);  // the dead refresh token is remembered
}

TEST(TokenRefresher, ProviderDownServesTheStillValidTokenThenUnavailable) {
  Rig r;
  r.store_state("alice", state("at-1", "rt-1", r.now() + 100));
  r.http.fail_transport();
  auto s = r.fresh("alice");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(auth::json_string(*s, "access_token"), "at-1");
  r.clock.advance(200s);  // now expired
  auto late = r.fresh("alice");
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Errc::unavailable);
  // The provider comes back: the same refresh token still works.
  r.http.serve(R"({"access_token":"at-2","expires_in":3600})");
  auto back = r.fresh("alice");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(auth::json_string(*back, "access_token"), "at-2");
}

TEST(TokenRefresher, NoStoredTokensSaysSignInAgain) {
  Rig r;
  ASSERT_TRUE(r.st->create_user("bob", false));
  auto s = r.fresh("bob");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::unauthorized);
}

TEST(TokenRefresher, SpawnEnvironmentCarriesTheTokensWhenAsked) {
  Rig r;
  r.store_state("alice", state("at-1", "rt-1", r.now() + 3600));
  auto env = jwt::test::run_sync(r.refresher->spawn_environment("alice", true, "UPSTREAM_TOKEN", "OIDC_ID_TOKEN"));
  ASSERT_TRUE(env) << env.error().message;
  EXPECT_EQ(env->at("UPSTREAM_TOKEN"), "at-1");
  EXPECT_EQ(env->at("OIDC_ID_TOKEN"), "id-1");
  auto none = jwt::test::run_sync(r.refresher->spawn_environment("alice", false, "", ""));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  // refresh_pre_spawn with a refresh the provider refuses fails the spawn.
  r.store_state("carol", state("at-c", "rt-c", r.now() - 1));
  r.http.serve(R"({"error":"invalid_grant"})", 400);
  auto failed = jwt::test::run_sync(r.refresher->spawn_environment("carol", true, "", ""));
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("before starting your server"), std::string::npos);
}

}  // namespace
}  // namespace nbhub::hub

namespace nbhub::hub {
namespace {

TEST(TokenRefresher, PeriodicRoundRefreshesOnlyTokensExpiringBeforeTheNextRound) {
  Rig r;
  r.store_state("alice", state("at-a", "rt-a", r.now() + 400));   // < 300 margin + 600 round
  r.store_state("bob", state("at-b", "rt-b", r.now() + 3600));    // fine until after the next round
  ASSERT_TRUE(r.st->create_user("carol", false));                 // no tokens: skipped
  r.http.serve(R"({"access_token":"at-a2","expires_in":3600})");
  jwt::test::run_sync([&]() -> net::awaitable<int> { co_await r.refresher->refresh_due(600s); co_return 0; }());
  EXPECT_EQ(r.http.calls, 1);
  EXPECT_NE(r.http.requests[0].body.find("refresh_token=rt-a"), std::string::npos);
  EXPECT_EQ(auth::json_string(r.stored("alice"), "access_token"), "at-a2");
  EXPECT_EQ(auth::json_string(r.stored("bob"), "access_token"), "at-b");
}

}  // namespace
}  // namespace nbhub::hub

namespace nbhub::hub {
namespace {

TEST(TokenRefresher, WithoutAuthStateTheHubSaysItKeepsNoTokens) {
  Rig r;
  TokenRefresher off(r.providers, r.http, *r.st, nullptr, r.clock, r.pool, quiet());
  auto s = jwt::test::run_sync(off.fresh_auth_state("alice"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::not_found);
  EXPECT_NE(s.error().message.find("enable_auth_state"), std::string::npos);
  auto env = jwt::test::run_sync(off.spawn_environment("alice", true, "UPSTREAM_TOKEN", ""));
  ASSERT_TRUE(env);  // refresh_pre_spawn on a hub without auth_state does not block spawns
  EXPECT_TRUE(env->empty());
}

}  // namespace
}  // namespace nbhub::hub

// Across replicas (docs/replicas.md): two refreshers with their own in-memory single flight,
// sharing one store, stand for two replicas. The per-user store lease makes them one flight.
namespace nbhub::hub {
namespace {

std::unique_ptr<TokenRefresher> replica(Rig& r, std::string id, std::chrono::milliseconds wait = 20000ms) {
  return std::make_unique<TokenRefresher>(r.providers, r.http, *r.st, &r.crypt, r.clock, r.pool, quiet(),
                                          RefreshOptions{.margin = 300s, .replica_id = std::move(id),
                                                         .user_lock_ttl = 60000ms, .user_lock_wait = wait});
}

TEST(TokenRefresher, TwoReplicasRefreshingOneUserMakeOneGrant) {
  Rig r;
  r.store_state("alice", state("at-1", "rt-1", r.now() + 10));
  r.http.serve(R"({"access_token":"at-2","refresh_token":"rt-2","expires_in":3600})");
  r.http.hold = true;
  auto a = replica(r, "replica-a");
  auto b = replica(r, "replica-b");
  net::io_context ioc;
  std::vector<std::string> got;
  for (auto* who : {a.get(), b.get(), a.get(), b.get()})
    net::co_spawn(ioc, [&, who]() -> net::awaitable<void> {
      auto s = co_await who->fresh_auth_state("alice");
      got.push_back(s ? auth::json_string(*s, "access_token") : "error: " + s.error().message);
    }, net::detached);
  net::co_spawn(ioc, [&]() -> net::awaitable<void> {
    net::steady_timer t(ioc);
    for (int i = 0; i < 400 && r.http.calls == 0; ++i) {
      t.expires_after(5ms);
      co_await t.async_wait(net::use_awaitable);
    }
    t.expires_after(300ms);  // the other replica is polling the lease meanwhile
    co_await t.async_wait(net::use_awaitable);
    r.http.release();
  }, net::detached);
  ioc.run();
  EXPECT_EQ(r.http.calls, 1);
  EXPECT_EQ(a->grants_sent() + b->grants_sent(), 1u);
  ASSERT_EQ(got.size(), 4u);
  for (auto const& g : got) EXPECT_EQ(g, "at-2");
  EXPECT_EQ(auth::json_string(r.stored("alice"), "refresh_token"), "rt-2");
  EXPECT_FALSE(r.st->get_lease("refresh alice")->has_value());  // released after the grant
}

TEST(TokenRefresher, ForcedRefreshAfterWaitingForAnotherReplicaMakesNoSecondGrant) {
  Rig r;
  r.store_state("alice", state("at-1", "rt-1", r.now() + 3600));
  r.http.serve(R"({"access_token":"at-2","refresh_token":"rt-2","expires_in":3600})");
  r.http.hold = true;
  auto a = replica(r, "replica-a");
  auto b = replica(r, "replica-b");
  net::io_context ioc;
  std::vector<std::string> got;
  for (auto* who : {a.get(), b.get()})
    net::co_spawn(ioc, [&, who]() -> net::awaitable<void> {
      auto s = co_await who->fresh_auth_state("alice", true);
      got.push_back(s ? auth::json_string(*s, "access_token") : "error: " + s.error().message);
    }, net::detached);
  net::co_spawn(ioc, [&]() -> net::awaitable<void> {
    net::steady_timer t(ioc);
    for (int i = 0; i < 400 && r.http.calls == 0; ++i) {
      t.expires_after(5ms);
      co_await t.async_wait(net::use_awaitable);
    }
    t.expires_after(200ms);
    co_await t.async_wait(net::use_awaitable);
    r.http.release();
  }, net::detached);
  ioc.run();
  EXPECT_EQ(r.http.calls, 1);
  ASSERT_EQ(got.size(), 2u);
  for (auto const& g : got) EXPECT_EQ(g, "at-2");
}

TEST(TokenRefresher, ReplicaThatDiedMidGrantFreesTheUserWhenItsLeaseRunsOut) {
  Rig r;
  r.store_state("alice", state("at-1", "rt-1", r.now() - 10));  // expired
  r.http.serve(R"({"access_token":"at-2","refresh_token":"rt-2","expires_in":3600})");
  ASSERT_TRUE(*r.st->take_lease("refresh alice", "replica-dead", r.clock.now(), r.clock.now() + 60s));

  // A short wait: the dead replica's lease outlives it, and nothing is presented to the IdP.
  auto impatient = replica(r, "replica-b", 200ms);
  auto s = jwt::test::run_sync(impatient->fresh_auth_state("alice"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::unavailable);
  EXPECT_NE(s.error().message.find("Another hub replica is renewing"), std::string::npos);
  EXPECT_EQ(r.http.calls, 0);

  // The lease runs out while a patient replica waits: it refreshes with the stored token.
  auto patient = replica(r, "replica-c");
  net::io_context ioc;
  std::string got;
  net::co_spawn(ioc, [&]() -> net::awaitable<void> {
    auto st = co_await patient->fresh_auth_state("alice");
    got = st ? auth::json_string(*st, "access_token") : "error: " + st.error().message;
  }, net::detached);
  net::co_spawn(ioc, [&]() -> net::awaitable<void> {
    net::steady_timer t(ioc, 200ms);
    co_await t.async_wait(net::use_awaitable);
    EXPECT_EQ(r.http.calls, 0);
    r.clock.advance(61s);
  }, net::detached);
  ioc.run();
  EXPECT_EQ(got, "at-2");
  EXPECT_EQ(r.http.calls, 1);
  EXPECT_NE(r.http.requests[0].body.find("refresh_token=rt-1"), std::string::npos);
}

}  // namespace
}  // namespace nbhub::hub
