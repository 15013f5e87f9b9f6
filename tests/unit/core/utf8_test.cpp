#include "core/utf8.hpp"

#include <gtest/gtest.h>

namespace nbhub {

TEST(Utf8, WellFormedTextIsValid) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("alice@example.org"));
  EXPECT_TRUE(valid_utf8("Zoë 東京 \xF0\x9F\x93\x93"));  // 2, 3 and 4-byte sequences
  EXPECT_TRUE(valid_utf8("\xF4\x8F\xBF\xBF"));           // U+10FFFF, the last code point
}

TEST(Utf8, MalformedSequencesAreNot) {
  EXPECT_FALSE(valid_utf8("\xBE"));              // a lone continuation byte ("%be" decoded)
  EXPECT_FALSE(valid_utf8("\xC3"));              // cut short
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xE0\x80\xAF"));      // overlong, three bytes
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));      // a surrogate (U+D800)
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(valid_utf8("\xFF"));
}

TEST(Utf8, RepairReplacesEachBadByteAndKeepsTheRest) {
  EXPECT_EQ(to_valid_utf8("/user/\xBE/x"), "/user/\xEF\xBF\xBD/x");
  EXPECT_EQ(to_valid_utf8("a\xC3"), "a\xEF\xBF\xBD");
  EXPECT_EQ(to_valid_utf8("Zoë"), "Zoë");
  EXPECT_TRUE(valid_utf8(to_valid_utf8("\xF0\x9F\x93\xED\xA0\x80ok")));
}

}  // namespace nbhub
