// Spelling suggestions and quoting used by every diagnostic.
#include <gtest/gtest.h>

#include "config/text.hpp"

namespace nbhub::config {
namespace {

TEST(Text, EditDistanceCountsTranspositionsAsOneEdit) {
  EXPECT_EQ(edit_distance("port", "port"), 0u);
  EXPECT_EQ(edit_distance("prot", "port"), 1u);
  EXPECT_EQ(edit_distance("PORT", "port"), 0u);
  EXPECT_EQ(edit_distance("client_secert", "client_secret"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

TEST(Text, SuggestsOnlyLikelyTypos) {
  std::vector<std::string> keys = {"port", "ip", "base_url", "authorize_url", "token_url"};
  EXPECT_EQ(did_you_mean("prot", keys), "; did you mean `port`?");
  EXPECT_EQ(did_you_mean("authorise_url", keys), "; did you mean `authorize_url`?");
  EXPECT_EQ(did_you_mean("spawner", keys), "");
  EXPECT_EQ(did_you_mean("x", keys), "");
  EXPECT_EQ(closest("BIN", std::vector<std::string>{"IP"}), "");
}

TEST(Text, Helpers) {
  EXPECT_EQ(dquoted("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(dquoted("abcdef", 3), "\"abc...\"");
  EXPECT_EQ(to_upper_snake("my-idp.x"), "MY_IDP_X");
  EXPECT_EQ(split_list(" a, b,,c ,"), (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
}  // namespace nbhub::config
