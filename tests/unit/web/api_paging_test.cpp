// Pagination rules of the REST API (spec/jupyterhub-contract.md §4.4) and the timestamp form.
#include <gtest/gtest.h>

#include <chrono>

#include "web/api_common.hpp"

namespace nbhub::web {
namespace {

TEST(ApiPaging, EnvelopeOnlyWhenAskedForAmongAcceptEntries) {
  EXPECT_TRUE(accepts_pagination("application/jupyterhub-pagination+json"));
  EXPECT_TRUE(accepts_pagination("application/json, Application/JupyterHub-Pagination+JSON"));
  EXPECT_TRUE(accepts_pagination("text/html;q=0.9, application/jupyterhub-pagination+json;q=1"));
  EXPECT_FALSE(accepts_pagination(""));
  EXPECT_FALSE(accepts_pagination("application/json"));
  EXPECT_FALSE(accepts_pagination("application/jupyterhub-pagination+jsonx"));
}

TEST(ApiPaging, IntegersAreReadAsJupyterHubDoes) {
  EXPECT_EQ(parse_page_int("0"), 0);
  EXPECT_EQ(parse_page_int("25"), 25);
  EXPECT_EQ(parse_page_int("-10"), 10);  // abs(int(...))
  EXPECT_EQ(parse_page_int("+3"), 3);
  EXPECT_FALSE(parse_page_int(""));
  EXPECT_FALSE(parse_page_int("ten"));
  EXPECT_FALSE(parse_page_int("1.5"));
  EXPECT_FALSE(parse_page_int("99999999999999999999"));
}

TEST(ApiModels, TimestampsAreUtcWithZOrNull) {
  using namespace std::chrono;
  sys_days day = year{2024} / 5 / 1;
  auto t = day + hours{12} + minutes{34} + seconds{56} + microseconds{789012};
  EXPECT_EQ(iso8601(t), "2024-05-01T12:34:56.789012Z");
  EXPECT_TRUE(iso_or_null(std::nullopt).is_null());
}

}  // namespace
}  // namespace nbhub::web
