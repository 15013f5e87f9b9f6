// JupyterHub 6.0's server name and display name rules (jupyterhub/slugs.py).
#include "hub/server_names.hpp"

#include <gtest/gtest.h>

#include <string>

using nbhub::hub::display_name_problem;
using nbhub::hub::is_strict_server_name;

TEST(StrictServerName, AcceptsWhatIsValidSafeSlugAccepts) {
  for (auto ok : {"a", "gpu-1", "my-server-2", "x9"}) EXPECT_TRUE(is_strict_server_name(ok)) << ok;
  EXPECT_TRUE(is_strict_server_name(std::string(30, 'a')));
}

TEST(StrictServerName, RefusesTheRest) {
  for (auto bad : {"", "A", "Gpu", "9lives", "-a", "a-", "a--b", "a_b", "a.b", "a b", "é", "a/b"})
    EXPECT_FALSE(is_strict_server_name(bad)) << bad;
  EXPECT_FALSE(is_strict_server_name(std::string(31, 'a')));
}

TEST(DisplayName, AcceptsPrintableTextWithSingleSpaces) {
  for (auto ok : {"GPU One", "x", "Données ✓", "日本語 サーバー"})
    EXPECT_EQ(display_name_problem(ok), std::nullopt) << ok;
  EXPECT_EQ(display_name_problem(std::string(255, 'a')), std::nullopt);
}

TEST(DisplayName, RefusesSpacesAtTheEdgesDoubleSpacesControlsAndLength) {
  for (auto bad : {"", " a", "a ", "a  b", "a\tb", "a\nb", "a\x7f", "a\xc2\x85"})
    EXPECT_NE(display_name_problem(bad), std::nullopt) << bad;
  EXPECT_NE(display_name_problem(std::string(256, 'a')), std::nullopt);
  // 255 characters of two bytes each are still 255 characters.
  std::string two_byte;
  for (int i = 0; i < 255; ++i) two_byte += "é";
  EXPECT_EQ(display_name_problem(two_byte), std::nullopt);
}
