#include "jwt/jwks_cache.hpp"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "jwt/validator.hpp"
#include "unit/jwt/fake_http_client.hpp"
#include "unit/jwt/test_signer.hpp"

namespace nbhub::jwt {
namespace {

using namespace std::chrono_literals;
using test::FakeHttpClient;
using test::Keys;
using test::make_jwks;
using test::run_sync;
namespace net = boost::asio;

constexpr std::int64_t kNow = 1767225600;
constexpr char kUrl[] = "https://idp.test/.well-known/jwks.json";
using KeyResult = JwtResult<std::shared_ptr<Jwk const>>;

class JwksCacheTest : public ::testing::Test {
 protected:
  FakeHttpClient http;
  FakeClock clock{Clock::SysTime{std::chrono::seconds{kNow}}};
  JwksCache cache{http, clock};

  void serve_keys(std::vector<boost::json::object> keys) { http.serve(make_jwks(std::move(keys))); }
  KeyResult lookup(std::string kid, std::string alg = "RS256") {
    return run_sync(cache.key_for(kUrl, std::move(kid), std::move(alg)));
  }
  static std::string message(KeyResult const& r) { return r ? "" : r.error().message; }
};

TEST_F(JwksCacheTest, OneFetchServesManyLookups) {
  serve_keys({Keys::get().rsa1.jwk(), Keys::get().rsa2.jwk()});
  for (int i = 0; i < 10; ++i) {
    auto r = lookup(i % 2 ? "rsa-1" : "rsa-2");
    ASSERT_TRUE(r) << message(r);
  }
  EXPECT_EQ(http.calls, 1);
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_EQ(http.requests[0].method, "GET");
  EXPECT_EQ(http.requests[0].url, kUrl);
  EXPECT_TRUE(http.requests[0].timeout.has_value());
}

TEST_F(JwksCacheTest, CachesPerUrl) {
  serve_keys({Keys::get().rsa1.jwk()});
  EXPECT_TRUE(lookup("rsa-1"));
  EXPECT_TRUE(run_sync(cache.key_for("https://other.test/jwks", "rsa-1", "RS256")));
  EXPECT_TRUE(lookup("rsa-1"));
  EXPECT_EQ(http.calls, 2);
}

TEST_F(JwksCacheTest, UnknownKidRefetchesOnce) {
  serve_keys({Keys::get().rsa1.jwk()});
  ASSERT_TRUE(lookup("rsa-1"));
  auto r = lookup("random-1");  // the set is 0 s old, and still refetched once
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::unknown_kid);
  EXPECT_EQ(http.calls, 2);
  EXPECT_NE(message(r).find("even after refetching"), std::string::npos) << message(r);
}

// Issue 18, point 7: a key published a moment after our fetch (rotation) is found at once, not
// refused for up to a minute.
TEST_F(JwksCacheTest, KeyPublishedRightAfterTheLastFetchIsFoundAtOnce) {
  serve_keys({Keys::get().rsa1.jwk()});
  ASSERT_TRUE(lookup("rsa-1"));
  serve_keys({Keys::get().rsa1.jwk(), Keys::get().rsa2.jwk()});
  clock.advance(1s);
  auto r = lookup("rsa-2");
  ASSERT_TRUE(r) << message(r);
  EXPECT_EQ((*r)->kid(), "rsa-2");
  EXPECT_EQ(http.calls, 2);
  EXPECT_TRUE(lookup("rsa-1"));  // the old key stays usable
  EXPECT_EQ(http.calls, 2);
}

TEST_F(JwksCacheTest, UnknownKidRefetchesAreRateLimited) {
  serve_keys({Keys::get().rsa1.jwk()});
  ASSERT_TRUE(lookup("rsa-1"));
  EXPECT_FALSE(lookup("random-1"));
  EXPECT_EQ(http.calls, 2);
  for (auto kid : {"random-2", "random-3", "random-4"}) {
    auto r = lookup(kid);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, JwtCode::unknown_kid);
    EXPECT_NE(message(r).find("not refetched because a refetch for an unknown kid started 0 s "
                              "ago and the refetch interval is 5 s"),
              std::string::npos)
        << message(r);
  }
  EXPECT_EQ(http.calls, 2);
  clock.advance(4s);
  EXPECT_FALSE(lookup("random-5"));
  EXPECT_EQ(http.calls, 2);
  clock.advance(1s);
  EXPECT_FALSE(lookup("random-6"));
  EXPECT_EQ(http.calls, 3);
  // A flood over a minute costs the IdP one request per interval at most.
  for (int i = 0; i < 600; ++i) {
    clock.advance(100ms);
    EXPECT_FALSE(lookup("flood-" + std::to_string(i)));
  }
  EXPECT_EQ(http.calls, 3 + 12);
}

TEST_F(JwksCacheTest, RegularFetchesDoNotCountAgainstTheUnknownKidLimit) {
  serve_keys({Keys::get().rsa1.jwk()});
  ASSERT_TRUE(lookup("rsa-1"));  // first fetch
  clock.advance(3600s);
  ASSERT_TRUE(lookup("rsa-1"));  // max_age refetch
  EXPECT_EQ(http.calls, 2);
  serve_keys({Keys::get().rsa1.jwk(), Keys::get().rsa2.jwk()});
  EXPECT_TRUE(lookup("rsa-2"));  // rotated a moment after the max_age refetch
  EXPECT_EQ(http.calls, 3);
}

TEST_F(JwksCacheTest, RefetchIntervalIsConfigurable) {
  JwksCache slow{http, clock, {.unknown_kid_refetch_interval = 30s}};
  serve_keys({Keys::get().rsa1.jwk()});
  auto at = [&](std::string kid) { return run_sync(slow.key_for(kUrl, std::move(kid), "RS256")); };
  ASSERT_TRUE(at("rsa-1"));
  EXPECT_FALSE(at("random-1"));
  EXPECT_EQ(http.calls, 2);
  clock.advance(29s);
  auto r = at("random-2");
  EXPECT_EQ(http.calls, 2);
  EXPECT_NE(message(r).find("started 29 s ago and the refetch interval is 30 s"),
            std::string::npos)
      << message(r);
  clock.advance(1s);
  EXPECT_FALSE(at("random-3"));
  EXPECT_EQ(http.calls, 3);
}

TEST_F(JwksCacheTest, RefetchesAfterMaxAge) {
  serve_keys({Keys::get().rsa1.jwk()});
  ASSERT_TRUE(lookup("rsa-1"));
  clock.advance(3599s);
  ASSERT_TRUE(lookup("rsa-1"));
  EXPECT_EQ(http.calls, 1);
  clock.advance(1s);
  ASSERT_TRUE(lookup("rsa-1"));
  EXPECT_EQ(http.calls, 2);
  ASSERT_TRUE(lookup("rsa-1"));
  EXPECT_EQ(http.calls, 2);
}

TEST_F(JwksCacheTest, FailedRefetchKeepsTheOldKeys) {
  serve_keys({Keys::get().rsa1.jwk()});
  ASSERT_TRUE(lookup("rsa-1"));
  int calls = 1;
  auto const fail_in = [&](auto make_failure) {
    make_failure();
    clock.advance(3600s);
    auto r = lookup("rsa-1");
    EXPECT_TRUE(r) << message(r);
    EXPECT_EQ(http.calls, ++calls);
  };
  fail_in([&] { http.serve("upstream error", 503); });
  fail_in([&] { http.serve("<html>not json</html>"); });
  fail_in([&] { http.serve(R"({"no_keys": []})"); });
  fail_in([&] { http.fail_transport(); });
  auto r = lookup("rsa-2");  // unknown kid: no retry within 5 s of the failure
  ASSERT_FALSE(r);
  EXPECT_NE(message(r).find("the last fetch failed 0 s ago"), std::string::npos) << message(r);
  EXPECT_EQ(http.calls, calls);
  clock.advance(5s);
  r = lookup("rsa-2");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::unknown_kid);
  EXPECT_NE(message(r).find("(refetching failed: GET https://idp.test/jwks: connection refused)"),
            std::string::npos)
      << message(r);
  EXPECT_EQ(http.calls, calls + 1);
  EXPECT_TRUE(lookup("rsa-1"));
  EXPECT_EQ(http.calls, calls + 1);
}

TEST_F(JwksCacheTest, NoKeysAndFetchFailsIsJwksUnavailable) {
  http.serve("down", 503);
  auto r = lookup("rsa-1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::jwks_unavailable);
  EXPECT_EQ(Error(r.error()).code, Errc::unavailable);
  EXPECT_NE(message(r).find("returned HTTP 503"), std::string::npos) << message(r);
  EXPECT_NE(message(r).find(kUrl), std::string::npos);

  r = lookup("rsa-1");  // retry waits retry_after_failure
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::jwks_unavailable);
  EXPECT_NE(message(r).find("not retried yet"), std::string::npos) << message(r);
  EXPECT_EQ(http.calls, 1);

  serve_keys({Keys::get().rsa1.jwk()});
  clock.advance(5s);
  r = lookup("rsa-1");
  EXPECT_TRUE(r) << message(r);
  EXPECT_EQ(http.calls, 2);
}

TEST_F(JwksCacheTest, UnsupportedAlgIsRejectedWithoutFetching) {
  auto r = lookup("rsa-1", "HS256");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, JwtCode::unsupported_alg);
  EXPECT_EQ(http.calls, 0);
}

// Runs `n` lookups concurrently on one io_context while the IdP holds the response.
std::vector<std::optional<KeyResult>> concurrent_lookups(JwksCache& cache, FakeHttpClient& http,
                                                         std::vector<std::string> kids,
                                                         int expected_calls_while_held) {
  net::io_context ioc;
  std::vector<std::optional<KeyResult>> results(kids.size());
  http.hold = true;
  for (std::size_t i = 0; i < kids.size(); ++i)
    net::co_spawn(
        ioc,
        [&, i]() -> net::awaitable<void> {
          results[i].emplace(co_await cache.key_for(kUrl, kids[i], "RS256"));
        },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
  ioc.poll();  // everyone is now waiting on the held fetch
  EXPECT_EQ(http.calls, expected_calls_while_held);
  for (auto const& r : results) EXPECT_FALSE(r.has_value());
  http.release();
  ioc.run();
  return results;
}

TEST_F(JwksCacheTest, ConcurrentLookupsShareOneFetch) {
  serve_keys({Keys::get().rsa1.jwk(), Keys::get().rsa2.jwk()});
  auto results = concurrent_lookups(cache, http, {"rsa-1", "rsa-2", "rsa-1", "nope", "rsa-2"}, 1);
  EXPECT_EQ(http.calls, 1);
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].has_value()) << i;
    EXPECT_EQ(results[i]->has_value(), i != 3) << i;
  }
  EXPECT_EQ(results[3]->error().code, JwtCode::unknown_kid);
}

TEST_F(JwksCacheTest, ConcurrentUnknownKidLookupsShareOneRefetch) {
  serve_keys({Keys::get().rsa1.jwk()});
  ASSERT_TRUE(lookup("rsa-1"));
  serve_keys({Keys::get().rsa1.jwk(), Keys::get().rsa2.jwk()});
  auto results = concurrent_lookups(cache, http, {"rsa-2", "rsa-2", "rsa-2", "rsa-2"}, 2);
  EXPECT_EQ(http.calls, 2);
  for (auto const& r : results) {
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->has_value()) << (r->has_value() ? "" : r->error().message);
  }
}

TEST_F(JwksCacheTest, LookupsFromManyThreadsShareOneFetch) {
  serve_keys({Keys::get().rsa1.jwk(), Keys::get().rsa2.jwk()});
  constexpr int kLookups = 64;
  std::vector<std::optional<KeyResult>> results(kLookups);
  {
    net::thread_pool pool(4);
    for (int i = 0; i < kLookups; ++i)
      net::co_spawn(
          net::make_strand(pool),  // one strand per "connection", as in production
          [&, i]() -> net::awaitable<void> {
            results[i].emplace(co_await cache.key_for(kUrl, i % 2 ? "rsa-1" : "rsa-2", "RS256"));
          },
          [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
          });
    pool.join();
  }
  EXPECT_EQ(http.calls, 1);
  for (auto const& r : results) {
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->has_value());
  }
}

TEST_F(JwksCacheTest, AbandonedFetchDoesNotWedgeTheUrl) {
  serve_keys({Keys::get().rsa1.jwk()});
  {
    net::io_context ioc;
    http.hold = true;
    net::co_spawn(
        ioc, [&]() -> net::awaitable<void> { (void)co_await cache.key_for(kUrl, "rsa-1", "RS256"); },
        [](std::exception_ptr) {});
    ioc.poll();
    EXPECT_EQ(http.calls, 1);
  }  // io_context destroyed mid-fetch: the coroutine frames are destroyed, not resumed
  http.hold = false;
  auto r = lookup("rsa-1");
  ASSERT_FALSE(r);  // counts as a failed attempt: retry after retry_after_failure
  EXPECT_EQ(r.error().code, JwtCode::jwks_unavailable);
  EXPECT_NE(message(r).find("cancelled"), std::string::npos) << message(r);
  clock.advance(5s);
  r = lookup("rsa-1");
  EXPECT_TRUE(r) << message(r);
  EXPECT_EQ(http.calls, 2);
}

TEST_F(JwksCacheTest, ValidatorVerifiesThroughTheCache) {
  serve_keys({Keys::get().rsa1.jwk()});
  Validator v(cache, clock);
  Expectations x;
  x.issuer = "https://idp.test";
  x.audiences = {"client-1"};
  x.allowed_algs = {"RS256"};
  x.token_name = "ID token";
  boost::json::object claims{
      {"iss", "https://idp.test"}, {"aud", "client-1"}, {"sub", "u"}, {"exp", kNow + 60}};
  auto ok = run_sync(v.validate(test::make_jwt(Keys::get().rsa1, "RS256", claims), x, kUrl));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->sub(), "u");

  clock.advance(61s);
  auto bad = run_sync(v.validate(
      test::make_jwt(Keys::get().rsa1, "RS256", claims, {{"kid", "abc"}}), x, kUrl));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, JwtCode::unknown_kid);
  EXPECT_EQ(bad.error().message,
            "ID token signed with kid 'abc', which is not in the provider's JWKS "
            "(https://idp.test/.well-known/jwks.json; it has kids ['rsa-1']) even after "
            "refetching");
  EXPECT_EQ(http.calls, 2);

  http.serve("down", 503);
  JwksCache empty(http, clock);
  Validator v2(empty, clock);
  auto down = run_sync(v2.validate(test::make_jwt(Keys::get().rsa1, "RS256", claims), x, kUrl));
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, JwtCode::jwks_unavailable);
  EXPECT_EQ(down.error().message.rfind("ID token cannot be verified", 0), 0u);
}

TEST(JwksCacheLog, LogsFetchesFailuresAndSkippedKeys) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  auto log = std::make_shared<spdlog::logger>("jwks-test", sink);
  log->set_level(spdlog::level::debug);
  log->set_pattern("%l %v");
  FakeHttpClient http;
  FakeClock clock{Clock::SysTime{std::chrono::seconds{kNow}}};
  JwksCache cache{http, clock, {.log = log}};
  http.serve(make_jwks({Keys::get().rsa1.jwk(), Keys::get().rsa2.jwk({}, "enc")}));
  EXPECT_TRUE(run_sync(cache.key_for(kUrl, "rsa-1", "RS256")));
  http.serve("oops", 500);
  clock.advance(3600s);
  EXPECT_TRUE(run_sync(cache.key_for(kUrl, "rsa-1", "RS256")));
  auto const text = out.str();
  EXPECT_NE(text.find("info jwks: fetched https://idp.test/.well-known/jwks.json (1 signing keys)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("debug jwks: https://idp.test/.well-known/jwks.json: skipped key 'rsa-2': "
                      "its use is 'enc'"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("warning jwks: GET https://idp.test/.well-known/jwks.json returned HTTP 500; "
                      "still using the 1 keys fetched before"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace nbhub::jwt
