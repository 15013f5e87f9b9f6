#include "store/crypt_keeper.hpp"

#include "core/crypto.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <map>

using namespace nbhub;
using namespace nbhub::store;
namespace json = boost::json;

namespace {

// Test-only keys (32 bytes each), never used outside these tests.
const std::string kKeyA(32, '\xA1');
const std::string kKeyB(32, '\xB2');
const std::string kHexA = crypto::hex_encode(kKeyA);
const std::string kHexB = crypto::hex_encode(kKeyB);

CryptKeeper::EnvLookup env(std::map<std::string, std::string> vars) {
  return [vars](std::string const& name) -> std::optional<std::string> {
    if (auto it = vars.find(name); it != vars.end()) return it->second;
    return std::nullopt;
  };
}

CryptKeeper keeper(std::string const& value, Random& random) {
  auto k = CryptKeeper::from_keys("NBHUB_CRYPT_KEY", value, random);
  if (!k) throw std::runtime_error(k.error().message);
  return std::move(*k);
}

const json::value kState = json::parse(
    R"({"access_token":"at-123","refresh_token":null,"scope":["openid"],"oauth_user":{"sub":"1"}})");

}  // namespace

TEST(CryptKeeper, DisabledWithoutKeysAndSaysHowToEnable) {
  FakeRandom random;
  auto k = CryptKeeper::from_env(random, env({}));
  ASSERT_TRUE(k);
  EXPECT_FALSE(k->enabled());
  EXPECT_EQ(CryptKeeper::disabled_warning(),
            "auth_state is not stored because neither NBHUB_CRYPT_KEY nor JUPYTERHUB_CRYPT_KEY "
            "is set; generate a key with `openssl rand -hex 32`");
  auto r = k->encrypt(kState, "alice");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::config);
}

TEST(CryptKeeper, PrefersNbhubKeyAndFallsBackToJupyterhubKey) {
  FakeRandom random;
  auto both = CryptKeeper::from_env(
      random, env({{"NBHUB_CRYPT_KEY", kHexA}, {"JUPYTERHUB_CRYPT_KEY", kHexB + ";" + kHexA}}));
  ASSERT_TRUE(both);
  EXPECT_EQ(both->variable(), "NBHUB_CRYPT_KEY");
  EXPECT_EQ(both->key_count(), 1u);
  auto jh = CryptKeeper::from_env(
      random, env({{"NBHUB_CRYPT_KEY", " ; "}, {"JUPYTERHUB_CRYPT_KEY", kHexB}}));
  ASSERT_TRUE(jh);
  EXPECT_EQ(jh->variable(), "JUPYTERHUB_CRYPT_KEY");
}

TEST(CryptKeeper, RoundTripWithTheDocumentedFormat) {
  FakeRandom random;
  auto k = keeper(kHexA, random);
  auto sealed = k.encrypt(kState, "alice");
  ASSERT_TRUE(sealed);
  auto compact = json::serialize(kState);
  ASSERT_EQ(sealed->size(), 1 + 12 + compact.size() + 16);
  EXPECT_EQ(static_cast<std::uint8_t>((*sealed)[0]), CryptKeeper::kFormatVersion);
  EXPECT_EQ(sealed->substr(1, 12),
            std::string("\0\1\2\3\4\5\6\7\10\11\12\13", 12));  // IV from Random
  EXPECT_EQ(sealed->find("at-123"), std::string::npos);
  auto opened = k.decrypt(*sealed, "alice");
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->value, kState);
  EXPECT_FALSE(opened->needs_reencrypt);
}

TEST(CryptKeeper, FreshIvForEveryValue) {
  OpenSslRandom random;
  auto k = keeper(kHexA, random);
  auto a = k.encrypt(kState, "alice");
  auto b = k.encrypt(kState, "alice");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
}

TEST(CryptKeeper, AcceptsHexAndBothBase64AlphabetsForTheSameKey) {
  FakeRandom random;
  // Bytes chosen so the base64 forms contain '-' / '_' (urlsafe) and '+' / '/' (standard).
  std::string raw;
  for (int i = 0; i < 32; ++i) raw += static_cast<char>(0xFB + i * 7);
  auto urlsafe = crypto::base64url_encode(raw) + "=";
  auto standard = crypto::base64_encode(raw);
  ASSERT_EQ(urlsafe.size(), 44u);
  ASSERT_NE(urlsafe, standard);
  auto sealed = keeper(crypto::hex_encode(raw), random).encrypt(kState, "alice");
  ASSERT_TRUE(sealed);
  for (auto const& form : {urlsafe, standard, " " + crypto::hex_encode(raw) + "\n"}) {
    auto opened = keeper(form, random).decrypt(*sealed, "alice");
    EXPECT_TRUE(opened) << form;
  }
}

TEST(CryptKeeper, RotationDecryptsWithAnOldKeyAndAsksForReencryption) {
  FakeRandom random;
  auto old_sealed = keeper(kHexA, random).encrypt(kState, "alice");
  ASSERT_TRUE(old_sealed);
  auto rotated = keeper(kHexB + ";" + kHexA + ";", random);  // trailing ';' is harmless
  EXPECT_EQ(rotated.key_count(), 2u);
  auto opened = rotated.decrypt(*old_sealed, "alice");
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->needs_reencrypt);
  auto resealed = rotated.encrypt(opened->value, "alice");
  ASSERT_TRUE(resealed);
  auto again = keeper(kHexB, random).decrypt(*resealed, "alice");  // old key retired
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->needs_reencrypt);
}

TEST(CryptKeeper, WrongKeyIsAConfigErrorThatNamesNoKey) {
  FakeRandom random;
  auto sealed = keeper(kHexA, random).encrypt(kState, "alice");
  ASSERT_TRUE(sealed);
  auto r = keeper(kHexB, random).decrypt(*sealed, "alice");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_EQ(r.error().message,
            "auth_state of user 'alice' could not be decrypted with any of the 1 key(s) in "
            "NBHUB_CRYPT_KEY: the key that encrypted it was removed, or the stored value was "
            "altered; the user must log in again");
}

TEST(CryptKeeper, TamperingIsDetected) {
  FakeRandom random;
  auto k = keeper(kHexA, random);
  auto sealed = k.encrypt(kState, "alice");
  ASSERT_TRUE(sealed);
  for (std::size_t i : {std::size_t{1}, std::size_t{13}, sealed->size() - 1}) {  // IV, body, tag
    auto bad = *sealed;
    bad[i] ^= 0x01;
    auto r = k.decrypt(bad, "alice");
    ASSERT_FALSE(r) << i;
    EXPECT_EQ(r.error().code, Errc::config) << i;
  }
  auto wrong_version = *sealed;
  wrong_version[0] = 0x02;
  EXPECT_EQ(k.decrypt(wrong_version, "alice").error().code, Errc::internal);
  auto truncated = k.decrypt(sealed->substr(0, 20), "alice");
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, Errc::internal);
  EXPECT_NE(truncated.error().message.find("is truncated (20 bytes)"), std::string::npos);
  EXPECT_EQ(k.decrypt("", "alice").error().code, Errc::internal);
}

TEST(CryptKeeper, AadBindsTheValueToItsUserAndPurpose) {
  FakeRandom random;
  auto k = keeper(kHexA, random);
  auto sealed = k.encrypt(kState, "alice");
  ASSERT_TRUE(sealed);
  EXPECT_FALSE(k.decrypt(*sealed, "mallory"));
  EXPECT_FALSE(k.decrypt(*sealed, "alice", CryptPurpose::id_token_hint));
  auto hint = k.encrypt(json::value("eyJ.id.token"), "alice", CryptPurpose::id_token_hint);
  ASSERT_TRUE(hint);
  EXPECT_FALSE(k.decrypt(*hint, "alice"));
  auto opened = k.decrypt(*hint, "alice", CryptPurpose::id_token_hint);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->value, json::value("eyJ.id.token"));
}

TEST(CryptKeeper, BadKeyFormatsNameTheVariableAndPositionButNeverTheKey) {
  FakeRandom random;
  struct Case {
    std::string value;
    std::string message;
  };
  const std::string tail =
      "each key must be 32 bytes written as 64 hex characters or 44 characters of base64; "
      "generate one with `openssl rand -hex 32`";
  std::string not_hex = kHexA;
  not_hex[10] = 'g';
  std::string not_b64 = crypto::base64url_encode(kKeyA) + "=";
  not_b64[5] = '*';
  std::vector<Case> cases{
      {kHexA + ";" + kHexA.substr(1), "NBHUB_CRYPT_KEY: key 2 of 2 has 63 characters; " + tail},
      {not_hex, "NBHUB_CRYPT_KEY: key 1 of 1 has 64 characters but is not hexadecimal; " + tail},
      {kHexB + ";;" + not_b64 + ";" + kHexA,
       "NBHUB_CRYPT_KEY: key 2 of 3 has 44 characters but is not base64 of 32 bytes; " + tail},
      {std::string(32, 'k'),
       "NBHUB_CRYPT_KEY: key 1 of 1 has 32 characters; raw keys, which JupyterHub accepts, are "
       "not: hex-encode it; " +
           tail},
      {crypto::base64url_encode(std::string(33, 'x')),  // 44 characters, but 33 bytes
       "NBHUB_CRYPT_KEY: key 1 of 1 has 44 characters but is not base64 of 32 bytes; " + tail},
  };
  for (auto const& c : cases) {
    auto r = CryptKeeper::from_keys("NBHUB_CRYPT_KEY", c.value, random);
    ASSERT_FALSE(r) << c.message;
    EXPECT_EQ(r.error().code, Errc::config);
    EXPECT_EQ(r.error().message, c.message);
  }
  // from_env reports a bad NBHUB_CRYPT_KEY rather than falling back to JUPYTERHUB_CRYPT_KEY.
  auto r = CryptKeeper::from_env(
      random, env({{"NBHUB_CRYPT_KEY", "short"}, {"JUPYTERHUB_CRYPT_KEY", kHexA}}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "NBHUB_CRYPT_KEY: key 1 of 1 has 5 characters; " + tail);
  auto jh = CryptKeeper::from_env(random, env({{"JUPYTERHUB_CRYPT_KEY", not_hex}}));
  ASSERT_FALSE(jh);
  EXPECT_EQ(jh.error().message.rfind("JUPYTERHUB_CRYPT_KEY: key 1 of 1", 0), 0u);
  EXPECT_EQ(jh.error().message.find(not_hex), std::string::npos);
}

TEST(CryptKeeper, RandomFailureFailsEncryption) {
  FakeRandom random;
  auto k = keeper(kHexA, random);
  random.fail = true;
  auto r = k.encrypt(kState, "alice");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
}

TEST(CryptKeeper, RecognisesJupyterhubFernetTokens) {
  FakeRandom random;
  auto r = keeper(kHexA, random).decrypt("gAAAAABlZ2V0c29tZWZlcm5ldHRva2Vu", "alice");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::internal);
  EXPECT_EQ(r.error().message,
            "auth_state of user 'alice' is not in a format this nbhub can read (it looks like "
            "JupyterHub's Fernet encryption); the user must log in again");
}

TEST(CryptKeeper, ReadsTheProcessEnvironmentByDefault) {
  FakeRandom random;
  ::setenv("NBHUB_CRYPT_KEY", kHexA.c_str(), 1);  // each TEST runs in its own process
  auto k = CryptKeeper::from_env(random);
  ::unsetenv("NBHUB_CRYPT_KEY");
  ASSERT_TRUE(k);
  EXPECT_TRUE(k->enabled());
}
