#include "core/crypto.hpp"

#include <gtest/gtest.h>

using namespace nbhub::crypto;

TEST(Crypto, Base64UrlRoundTripsAllLengths) {
  std::string raw;
  for (int i = 0; i < 40; ++i) {
    auto enc = base64url_encode(raw);
    EXPECT_EQ(enc.find('='), std::string::npos);
    auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec) << i;
    EXPECT_EQ(*dec, raw);
    raw += static_cast<char>(i * 37);
  }
  EXPECT_FALSE(base64url_decode("a+b/"));
  EXPECT_FALSE(base64url_decode("abcde"));
}

TEST(Crypto, Sha256KnownVector) {
  EXPECT_EQ(hex_encode(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Crypto, PkceS256MatchesRfc7636AppendixB) {
  EXPECT_EQ(base64url_encode(sha256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(Crypto, AesGcmRejectsTamperAndWrongAad) {
  std::string key(32, 'k'), iv(12, 'i');
  auto sealed = aes256gcm_seal(key, iv, "hello", "cookie-a");
  ASSERT_TRUE(sealed);
  EXPECT_EQ(aes256gcm_open(key, *sealed, "cookie-a").value_or("x"), "hello");
  EXPECT_FALSE(aes256gcm_open(key, *sealed, "cookie-b"));
  auto bad = *sealed;
  bad[13] ^= 1;
  EXPECT_FALSE(aes256gcm_open(key, bad, "cookie-a"));
  EXPECT_FALSE(aes256gcm_open(std::string(32, 'x'), *sealed, "cookie-a"));
}

TEST(Crypto, EqualCtComparesContentAndLength) {
  EXPECT_TRUE(equal_ct("abc", "abc"));
  EXPECT_FALSE(equal_ct("abc", "abd"));
  EXPECT_FALSE(equal_ct("abc", "abcd"));
}
