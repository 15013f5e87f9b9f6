// JupyterHub's token hash scheme, against vectors computed by Debian's JupyterHub 3.0
// (/usr/bin/python3 -c 'from jupyterhub.utils import hash_token; print(hash_token(t, salt=s, rounds=r))').
#include "hub/jupyterhub_token_hash.hpp"

#include <gtest/gtest.h>

namespace nbhub::hub {
namespace {

struct Vector {
  char const* token;
  char const* stored;
};

// A generated token's hash (rounds=1, 8-byte hex salt), a user-chosen token's (16384 rounds),
// an empty salt, and a non-ASCII token (JupyterHub hashes its UTF-8 bytes).
constexpr Vector kVectors[] = {
    {"abcdefghijklmnop0123456789abcdef",
     "sha512:1:0011223344556677:886b8e158b4496fee4c572ca14c685a9292ec60dcdc47a68e6e57e54bd23aa1bec"
     "306a8fb427c4292338433163b5a65ce1f2127166e0ef7b8960bc57a6621796"},
    {"abcdefghijklmnop0123456789abcdef",
     "sha512:16384:8899aabbccddeeff:58fa3ff6d727daa6bf736aaeb2557b931ae56cc8ab1a8302b516878cd049"
     "708b680fe2331997d78d6c5e9c256c65da2548ca02289cbb93ae1e40bd7c7bd85134"},
    {"token",
     "sha512:3::994f25958eac4d236285eb641f9760b150114537cd6c4df50e392dcfd87e478c6a4f7ed8bc9f877c8c"
     "42b60d975c7c0d62f2a6952fa3c4b9c27a59e12d2f8e14"},
    {"t\xc3\xb6k\xc3\xa9n-\xc3\xbctf8",
     "sha512:2:s@lt:e1298300b83a06808b2d479742a7efe3683f82cba4cb905c2586c880c98b93c93e6fa345b0c1e2"
     "5ee41f3160d9178491ab14938ef1a622d80b4dafca5b96c2b2"},
};

TEST(JupyterHubTokenHash, MatchesJupyterHubsOwnHashes) {
  for (auto const& v : kVectors) {
    SCOPED_TRACE(v.stored);
    auto h = parse_jupyterhub_hash(v.stored);
    ASSERT_TRUE(h) << h.error().message;
    EXPECT_EQ("sha512:" + std::to_string(h->rounds) + ":" + h->salt + ":" +
                  jupyterhub_hash_token(v.token, h->salt, h->rounds),
              v.stored);
    EXPECT_TRUE(verify_jupyterhub_token(v.stored, v.token));
  }
}

TEST(JupyterHubTokenHash, RefusesWrongTokens) {
  auto const& v = kVectors[0];
  EXPECT_FALSE(verify_jupyterhub_token(v.stored, "abcdefghijklmnop0123456789abcdeF"));
  EXPECT_FALSE(verify_jupyterhub_token(v.stored, "abcdefghijklmnop0123456789abcde"));
  EXPECT_FALSE(verify_jupyterhub_token(v.stored, ""));
  // The same token under the other vector's salt and rounds is a different hash.
  EXPECT_FALSE(verify_jupyterhub_token(kVectors[1].stored, "token"));
}

TEST(JupyterHubTokenHash, RefusesMalformedHashes) {
  std::string digest(128, 'a');
  for (std::string bad : {std::string(""), std::string("sha512:1:salt"),
                          "sha256:1:salt:" + digest, "sha512:0:salt:" + digest,
                          "sha512:-1:salt:" + digest, "sha512:1x:salt:" + digest,
                          "sha512:99999999:salt:" + digest, "sha512:1:sa:lt:" + digest,
                          "sha512:1:salt:" + std::string(127, 'a'),
                          "sha512:1:salt:" + std::string(128, 'A')}) {
    SCOPED_TRACE(bad);
    auto h = parse_jupyterhub_hash(bad);
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().code, Errc::bad_request);
    // The message never repeats the digest.
    EXPECT_EQ(h.error().message.find(digest), std::string::npos);
    EXPECT_FALSE(verify_jupyterhub_token(bad, "token"));
  }
}

}  // namespace
}  // namespace nbhub::hub
