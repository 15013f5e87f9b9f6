// The REST body readers (web/api_bodies.hpp), apart from their handlers; the handlers' answers
// are covered end to end by tests/integration/test_rest_api.py.
#include "web/api_bodies.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace nbhub::web {
namespace {

TEST(ApiBodies, ActivityTimesAsJupyterHubSendsThem) {
  auto t = parse_activity_time("2024-05-01T12:34:56.789012Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count(),
            1714566896789012LL);
  EXPECT_TRUE(parse_activity_time("2024-05-01T12:34:56+00:00"));
  EXPECT_FALSE(parse_activity_time("2024-05-01"));
  EXPECT_FALSE(parse_activity_time("2024"));
  // Found by fuzz_api_bodies: year 6024 overflowed system_clock's nanoseconds.
  EXPECT_FALSE(parse_activity_time("6024-05-01T12:34:56Z"));
  auto a = parse_activity(R"({"last_activity": "6024-05-01T12:34:56Z"})");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().message, "last_activity is not an ISO 8601 timestamp.");
}

TEST(ApiBodies, BulkCreateDropsRepeatsAndChecksNames) {
  auto r = parse_create_users(boost::json::parse(R"({"usernames": ["alice", "bob", "alice"]})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->names, (std::vector<std::string>{"alice", "bob"}));
  auto bad = parse_create_users(boost::json::parse(R"({"usernames": ["a/b"]})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "Invalid username: a/b");
  auto none = parse_create_users(boost::json::parse(R"({"usernames": []})"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "Must specify at least one user to create");
}

TEST(ApiBodies, TokenRequestLimits) {
  auto big = parse_token_request(boost::json::parse(R"({"expires_in": 1e300})"));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().message, "expires_in must be a number of seconds");
  auto ok = parse_token_request(boost::json::parse(R"({"expires_in": 60, "roles": ["user"], "scopes": []})"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->expires_in_seconds, 60);
  EXPECT_TRUE(ok->asked);
  EXPECT_EQ(ok->roles, (std::vector<std::string>{"user"}));
  EXPECT_TRUE(parse_token_request(boost::json::value(nullptr)));
}

}  // namespace
}  // namespace nbhub::web
