// Which origins get CORS headers from /hub/api (web/cors.hpp).
#include "web/cors.hpp"

#include <gtest/gtest.h>

using nbhub::web::cors_allow_origin;

TEST(CorsAllowOrigin, EchoesAConfiguredOriginOnly) {
  std::vector<std::string> allowed{"https://app.example.org", "http://localhost:3000/"};
  EXPECT_EQ(cors_allow_origin(allowed, "https://app.example.org", false), "https://app.example.org");
  EXPECT_EQ(cors_allow_origin(allowed, "HTTPS://APP.example.org", false), "HTTPS://APP.example.org");
  EXPECT_EQ(cors_allow_origin(allowed, "http://localhost:3000", false), "http://localhost:3000");
  EXPECT_EQ(cors_allow_origin(allowed, "https://evil.example.org", false), std::nullopt);
  EXPECT_EQ(cors_allow_origin(allowed, "https://app.example.org.evil.net", false), std::nullopt);
  EXPECT_EQ(cors_allow_origin(allowed, "http://app.example.org", false), std::nullopt);  // other scheme
  EXPECT_EQ(cors_allow_origin(allowed, "http://localhost:3001", false), std::nullopt);   // other port
  EXPECT_EQ(cors_allow_origin(allowed, "null", false), std::nullopt);
}

TEST(CorsAllowOrigin, NothingWithoutAnOriginOrAList) {
  EXPECT_EQ(cors_allow_origin({"https://app.example.org"}, "", false), std::nullopt);
  EXPECT_EQ(cors_allow_origin({}, "https://app.example.org", false), std::nullopt);
}

TEST(CorsAllowOrigin, StarAndTheRootAllowEveryone) {
  EXPECT_EQ(cors_allow_origin({"*"}, "https://anyone.example", false), "*");
  EXPECT_EQ(cors_allow_origin({}, "https://anyone.example", true), "*");
}
