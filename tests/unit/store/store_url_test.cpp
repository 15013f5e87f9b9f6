#include "store/store_url.hpp"

#include <gtest/gtest.h>

using namespace nbhub;
using namespace nbhub::store;

TEST(StoreUrl, FollowsSqlAlchemyForRelativeAndAbsolutePaths) {
  auto rel = StoreUrl::parse("sqlite:///nbhub.sqlite");
  ASSERT_TRUE(rel);
  EXPECT_EQ(rel->kind, StoreUrl::Kind::sqlite_file);
  EXPECT_EQ(rel->path, "nbhub.sqlite");
  auto abs = StoreUrl::parse("sqlite:////var/lib/nbhub/nbhub.sqlite");
  ASSERT_TRUE(abs);
  EXPECT_EQ(abs->path, "/var/lib/nbhub/nbhub.sqlite");
}

TEST(StoreUrl, AcceptsTheInMemoryForms) {
  for (auto url : {"sqlite://", "sqlite:///:memory:", ":memory:"}) {
    auto r = StoreUrl::parse(url);
    ASSERT_TRUE(r) << url;
    EXPECT_EQ(r->kind, StoreUrl::Kind::sqlite_memory) << url;
  }
}

TEST(StoreUrl, AcceptsPostgresUrlsAndRefusesOthersWithoutRepeatingThePassword) {
  for (auto url : {"postgresql://hub:hunter2@db.example.org/hub", "postgres://hub@db/hub",
                   "postgresql+psycopg2://hub@db/hub", "postgresql:///hub?host=/run/postgresql"}) {
    auto r = StoreUrl::parse(url);
    ASSERT_TRUE(r) << url;
    EXPECT_EQ(r->kind, StoreUrl::Kind::postgresql);
    EXPECT_EQ(r->postgres_url, url);
  }
  auto bad = StoreUrl::parse("postgresql:hub:hunter2@db/hub");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.find("hunter2"), std::string::npos);
  auto other = StoreUrl::parse("mysql://hub:hunter2@db/hub");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message.find("hunter2"), std::string::npos);
  EXPECT_NE(other.error().message.find("unsupported scheme 'mysql'"), std::string::npos);
}

TEST(StoreUrl, RejectsAHostAnEmptyPathAndOptions) {
  EXPECT_FALSE(StoreUrl::parse("sqlite://host/hub.sqlite"));
  EXPECT_FALSE(StoreUrl::parse("sqlite:///"));
  EXPECT_FALSE(StoreUrl::parse("sqlite:///hub.sqlite?mode=ro"));
  EXPECT_FALSE(StoreUrl::parse("/var/lib/nbhub/hub.sqlite"));
}
