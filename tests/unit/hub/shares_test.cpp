// Sharing rules apart from HTTP (hub/shares.hpp): the scope filter of JupyterHub's
// Share._apply_filter, scopes granted through shares, runtime service specs.
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "hub/services.hpp"
#include "hub/shares.hpp"
#include "store/store.hpp"

namespace nbhub::hub {
namespace {

using Strings = std::vector<std::string>;

TEST(ShareScopes, UnfilteredScopesGetTheServerFilter) {
  auto r = filter_share_scopes({"access:servers", "read:servers!server=alice/gpu", "access:servers"}, "alice", "gpu");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, (Strings{"access:servers!server=alice/gpu", "read:servers!server=alice/gpu"}));
  EXPECT_EQ(default_share_scopes("alice", ""), (Strings{"access:servers!server=alice/"}));
}

TEST(ShareScopes, AnotherFilterIsRefusedWithJupyterHubsMessage) {
  auto r = filter_share_scopes({"access:servers!user=alice"}, "alice", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_request);
  EXPECT_EQ(r.error().message, "!user=alice not allowed on sharing access:servers!user=alice, only !server=alice/");
  auto other = filter_share_scopes({"access:servers!server=bob/"}, "alice", "");
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("only !server=alice/"), std::string::npos);
}

TEST(ShareScopes, UnknownAndMetaScopesAreRefused) {
  auto r = filter_share_scopes({"access:everything"}, "alice", "");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("does not exist"), std::string::npos) << r.error().message;
  for (auto meta : {"inherit", "self", "all"}) {
    auto m = filter_share_scopes({meta}, "alice", "");
    ASSERT_FALSE(m) << meta;
    EXPECT_EQ(m.error().code, Errc::bad_request);
  }
}

TEST(ShareScopes, SharedScopesJoinTheRoleScopesUntilRevoked) {
  FakeClock clock{Clock::SysTime{} + std::chrono::seconds{1767225600}};
  auto st = store::Store::open("sqlite://", clock);
  ASSERT_TRUE(st);
  ASSERT_TRUE((*st)->migrate());
  auto alice = (*st)->create_user("alice", false).value();
  auto bob = (*st)->create_user("bob", false).value();
  ScopeSet roles{"read:users!user=bob"};
  EXPECT_EQ(with_shared_scopes(roles, bob, **st), roles);
  ASSERT_TRUE((*st)->grant_share(alice.id, "", {store::ShareTarget::Kind::user, bob.id},
                                 {"access:servers!server=alice/", "read:servers!server=alice/"}, clock.now()));
  auto with = with_shared_scopes(roles, bob, **st);
  EXPECT_TRUE(has_scope(with, "access:servers", {.user = "alice", .server = ""}));
  EXPECT_FALSE(has_scope(with, "access:servers", {.user = "alice", .server = "gpu"}));
  EXPECT_FALSE(has_scope(with, "servers", {.user = "alice", .server = ""}));
  // A read scope on the server lets bob read its owner's name, as for any server filter.
  EXPECT_TRUE(has_scope(with, "read:users:name", {.user = "alice"}));
  ASSERT_TRUE((*st)->revoke_share(alice.id, "", {store::ShareTarget::Kind::user, bob.id}, std::nullopt));
  EXPECT_EQ(with_shared_scopes(roles, bob, **st), roles);
}

TEST(ShareCodeIds, RoundTripAndRejectOtherForms) {
  EXPECT_EQ(share_code_id(12), "sc_12");
  EXPECT_EQ(parse_share_code_id("sc_12"), 12);
  for (auto bad : {"sc_", "12", "sc_12x", "sc_-1", "SC_1", "sc_ 1"}) EXPECT_FALSE(parse_share_code_id(bad)) << bad;
}

TEST(RuntimeServices, SpecWithTokenHashBecomesAServiceThatIsNotFromConfig) {
  auto token = "runtime-token-0123456789";
  boost::json::object spec{{"name", "announce"}, {"url", "http://127.0.0.1:10101/"},
                           {"api_token_sha256", crypto::hex_encode(crypto::sha256(token))}};
  auto s = ServiceRegistry::runtime_service(spec, "/");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_FALSE(s->from_config);
  EXPECT_EQ(s->prefix, "/services/announce/");
  auto cfg = ServiceRegistry::load(R"([{"name": "cfg", "api_token": "config-token-0123456789"}])", "/");
  ASSERT_TRUE(cfg);
  auto both = cfg->with({*s});
  ASSERT_TRUE(both) << both.error().message;
  ASSERT_NE(both->by_token(token), nullptr);
  EXPECT_EQ(both->by_token(token)->name, "announce");
  EXPECT_EQ(both->runtime().size(), 1u);
  // Taken names and tokens are conflicts; deleting keeps the config's services.
  EXPECT_EQ(both->with({*s}).error().code, Errc::conflict);
  EXPECT_EQ(both->without("announce").all().size(), 1u);
  EXPECT_EQ(both->without("cfg").all().size(), 2u);
}

TEST(RuntimeServices, ManagedOrMalformedSpecsAreRefused) {
  auto managed = ServiceRegistry::runtime_service({{"name", "m"}, {"command", boost::json::array{"sleep", "1"}}}, "/");
  ASSERT_FALSE(managed);
  EXPECT_EQ(managed.error().message, "Can not create managed service m at runtime");
  auto unknown = ServiceRegistry::runtime_service({{"name", "x"}, {"colour", "red"}}, "/");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::bad_request);
  EXPECT_NE(unknown.error().message.find("unknown key \"colour\""), std::string::npos);
}

}  // namespace
}  // namespace nbhub::hub
