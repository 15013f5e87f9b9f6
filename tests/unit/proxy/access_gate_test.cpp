// The proxy's refusal of revoked tokens (proxy/access_gate.hpp): where a token is found in a
// request, how long a denial lasts, and what lifts it.
#include <gtest/gtest.h>

#include <boost/beast/http/message.hpp>

#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "proxy/access_gate.hpp"

namespace nbhub::proxy {
namespace {

namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

std::string hash(std::string_view t) { return crypto::hex_encode(crypto::sha256(t)); }

// What Tornado's set_secure_cookie (version 2) writes: length-prefixed fields, then a signature.
std::string signed_cookie(std::string const& name, std::string const& token) {
  auto b64 = crypto::base64_encode(token);
  return "2|1:0|10:1767225600|" + std::to_string(name.size()) + ":" + name + "|" + std::to_string(b64.size()) + ":" +
         b64 + "|0123456789abcdef";
}

bhttp::request_header<> request(std::string target) {
  bhttp::request_header<> h;
  h.method(bhttp::verb::get);
  h.target(target);
  return h;
}

struct Gate : ::testing::Test {
  FakeClock clock{Clock::SysTime{} + std::chrono::seconds{1767225600}};
  AccessGate gate{clock};
};

TEST_F(Gate, NothingDeniedLetsEverythingThrough) {
  auto h = request("/user/alice/api/contents?token=abc");
  h.set(bhttp::field::authorization, "token abc");
  EXPECT_FALSE(gate.denies("/user/alice", h));
}

TEST_F(Gate, FindsTheTokenInTheHeaderTheQueryAndTheServersCookie) {
  gate.deny("/user/alice", "jupyterhub-user-alice", 7, {hash("bob-token-1"), hash("bob-oauth-2")}, clock.now() + 330s);
  auto header = request("/user/alice/api/contents");
  header.set(bhttp::field::authorization, "Bearer bob-token-1");
  EXPECT_TRUE(gate.denies("/user/alice", header));
  EXPECT_FALSE(gate.denies("/user/carol", header));  // another server
  EXPECT_TRUE(gate.denies("/user/alice", request("/user/alice/api/contents?x=1&token=bob-token-1")));
  auto cookie = request("/user/alice/tree");
  cookie.set(bhttp::field::cookie, "_xsrf=2|x; jupyterhub-user-alice=\"" + signed_cookie("jupyterhub-user-alice", "bob-oauth-2") + "\"");
  EXPECT_TRUE(gate.denies("/user/alice", cookie));
  // Someone else's token passes; so does bob's cookie under another name.
  auto other = request("/user/alice/tree");
  other.set(bhttp::field::cookie, "jupyterhub-user-alice=" + signed_cookie("jupyterhub-user-alice", "carol-oauth"));
  EXPECT_FALSE(gate.denies("/user/alice", other));
  auto renamed = request("/user/alice/tree");
  renamed.set(bhttp::field::cookie, "jupyterhub-user-alicex=" + signed_cookie("jupyterhub-user-alicex", "bob-oauth-2"));
  EXPECT_FALSE(gate.denies("/user/alice", renamed));
}

TEST_F(Gate, DenialsEndAtTheirTimeOrWhenAllowed) {
  gate.deny("/user/alice", "jupyterhub-user-alice", 7, {hash("t1")}, clock.now() + 330s);
  gate.deny("/user/alice", "jupyterhub-user-alice", 8, {hash("t2")}, clock.now() + 330s);
  auto t1 = request("/user/alice/?token=t1");
  auto t2 = request("/user/alice/?token=t2");
  gate.allow("/user/alice", 7);  // user 7 was granted access again
  EXPECT_FALSE(gate.denies("/user/alice", t1));
  EXPECT_TRUE(gate.denies("/user/alice", t2));
  clock.advance(331s);
  EXPECT_FALSE(gate.denies("/user/alice", t2));
  // The next change prunes what ran out: the table stays bounded.
  gate.deny("/user/carol", "jupyterhub-user-carol", 9, {hash("t3")}, clock.now() + 1s);
  EXPECT_EQ(gate.size_for_test(), 1u);
}

TEST(SignedCookie, ReadsTornadoVersionTwoOnly) {
  EXPECT_EQ(AccessGate::token_from_signed_cookie(signed_cookie("n", "tok")), "tok");
  EXPECT_EQ(AccessGate::token_from_signed_cookie("\"" + signed_cookie("n", "tok") + "\""), "tok");
  for (auto bad : {"", "2|", "2|1:0|10:1767225600|1:n|99:abc|sig", "dG9r|1767225600|sig", "2|x:0|", "2|1:0|10:1767225600|1:n|4:dG9r"})
    EXPECT_FALSE(AccessGate::token_from_signed_cookie(bad)) << bad;
}

}  // namespace
}  // namespace nbhub::proxy
