#include "core/next_url.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

using nbhub::NextUrlPolicy;
using nbhub::validate_next_url;

TEST(NextUrlGate, AcceptsSameOriginPaths) {
  NextUrlPolicy p{"/"};
  EXPECT_EQ(validate_next_url("/hub/home", p).value(), "/hub/home");
  EXPECT_EQ(validate_next_url("/user/alice/lab?x=1#cell", p).value(), "/user/alice/lab?x=1#cell");
  EXPECT_EQ(validate_next_url("/user/a%20b/", p).value(), "/user/a%20b/");
}

TEST(NextUrlGate, RejectsProtocolRelativeUrl) {
  auto r = validate_next_url("//evil.example", {"/"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "next URL refused: it starts with '//' (another host)");
}

TEST(NextUrlGate, RejectsBackslashWithItsOwnMessage) {
  auto r = validate_next_url("/\\evil.example", {"/"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "next URL refused: it contains a backslash");
}

TEST(NextUrlGate, RejectsEncodedCrLf) {
  auto r = validate_next_url("/hub/%0d%0aSet-Cookie:x", {"/"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "next URL refused: it contains an encoded control character");
}

TEST(NextUrlGate, RejectsPathsOutsideBaseUrl) {
  NextUrlPolicy p{"/my hub/"};
  EXPECT_TRUE(validate_next_url("/my hub/hub/home", p).has_value() == false);  // raw space
  NextUrlPolicy q{"/jh/"};
  EXPECT_TRUE(validate_next_url("/jh/hub/home", q));
  auto r = validate_next_url("/other/", q);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "next URL refused: it is outside this hub's base URL /jh/");
}

TEST(NextUrlGate, RefusesEveryPayloadInTheList) {
  std::ifstream in(std::string(NBHUB_TEST_DATA) + "/open-redirect-payloads.txt");
  ASSERT_TRUE(in) << "payload list missing";
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.starts_with('#') || line.empty()) continue;
    ++n;
    EXPECT_FALSE(validate_next_url(line, {"/"})) << "accepted: " << line;
  }
  EXPECT_GT(n, 20);
}
