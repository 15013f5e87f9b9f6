#include "store/store.hpp"
#include "backends.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

using namespace nbhub;
using namespace nbhub::store;
using namespace nbhub::store::testing;
using Strings = std::vector<std::string>;

namespace {

class Users : public BackendTest {
 protected:
  FakeClock clock{kEpoch};
  std::unique_ptr<Store> store = open_backend(clock);
};

class Groups : public BackendTest {
 protected:
  FakeClock clock{kEpoch};
  std::unique_ptr<Store> store = open_backend(clock);
};

}  // namespace

TEST_P(Users, LoginCreatesAUserWithDefaults) {
  auto up = must(store->upsert_user_on_login({.name = "alice"}));
  EXPECT_TRUE(up.created);
  EXPECT_EQ(up.user.name, "alice");
  EXPECT_FALSE(up.user.admin);
  EXPECT_TRUE(up.user.groups.empty());
  EXPECT_EQ(up.user.created, kEpoch);
  EXPECT_EQ(up.user.auth_refreshed, kEpoch);
  EXPECT_FALSE(up.user.last_activity);
  EXPECT_FALSE(up.user.encrypted_auth_state);
  EXPECT_EQ(must(store->get_user("alice")), up.user);
  EXPECT_EQ(must(store->get_user_by_id(up.user.id)), up.user);
}

TEST_P(Users, LoginWithNulloptLeavesAdminGroupsAndAuthState) {
  must(store->upsert_user_on_login(
      {.name = "alice", .admin = true, .groups = Strings{"b", "a"}, .encrypted_auth_state = "s1"}));
  clock.advance(1h);
  auto up = must(store->upsert_user_on_login({.name = "alice"}));
  EXPECT_FALSE(up.created);
  EXPECT_TRUE(up.user.admin);
  EXPECT_EQ(up.user.groups, (Strings{"a", "b"}));
  EXPECT_EQ(up.user.encrypted_auth_state, "s1");
  EXPECT_EQ(up.user.created, kEpoch);
  EXPECT_EQ(up.user.auth_refreshed, kEpoch + 1h);  // a login is a refresh
}

TEST_P(Users, LoginWithValuesReplacesThem) {
  must(store->upsert_user_on_login({.name = "alice", .admin = true, .groups = Strings{"a", "b"}}));
  auto up = must(store->upsert_user_on_login({.name = "alice",
                                              .admin = false,
                                              .groups = Strings{"b", "c", "c"},
                                              .encrypted_auth_state = "s2"}));
  EXPECT_FALSE(up.user.admin);  // admin_groups revocation: an explicit false demotes
  EXPECT_EQ(up.user.groups, (Strings{"b", "c"}));
  EXPECT_EQ(up.user.encrypted_auth_state, "s2");
  // Group "a" lost its member but still exists; "c" was created by the login.
  auto groups = must(store->list_groups(0, 10));
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].name, "a");
  EXPECT_TRUE(groups[0].members.empty());
  EXPECT_EQ(groups[2].members, Strings{"alice"});
}

TEST_P(Users, LoginWithAnEmptyGroupListRemovesAllMemberships) {
  must(store->upsert_user_on_login({.name = "alice", .groups = Strings{"a"}}));
  auto up = must(store->upsert_user_on_login({.name = "alice", .groups = Strings{}}));
  EXPECT_TRUE(up.user.groups.empty());
}

TEST_P(Users, AuthStateIsOpaqueBytes) {
  std::string bytes("\x01\x00\xff\x80 tail", 9);
  must(store->upsert_user_on_login({.name = "alice", .encrypted_auth_state = bytes}));
  EXPECT_EQ(must(store->get_user("alice")).encrypted_auth_state, bytes);
  must(store->set_auth_state("alice", std::string()));
  EXPECT_EQ(must(store->get_user("alice")).encrypted_auth_state, std::string());  // not NULL
  must(store->set_auth_state("alice", std::nullopt));
  EXPECT_FALSE(must(store->get_user("alice")).encrypted_auth_state);
}

TEST_P(Users, SetAuthStateLeavesAuthRefreshedAlone) {
  must(store->upsert_user_on_login({.name = "alice"}));
  clock.advance(1h);
  must(store->set_auth_state("alice", "re-encrypted"));
  EXPECT_EQ(must(store->get_user("alice")).auth_refreshed, kEpoch);
  must(store->set_auth_refreshed("alice", kEpoch + 2h));
  EXPECT_EQ(must(store->get_user("alice")).auth_refreshed, kEpoch + 2h);
}

TEST_P(Users, LoginWritesItsSessionInTheSameTransaction) {
  SessionRow session{.id_hash = "h1", .provider = "idp", .created = kEpoch, .expires = kEpoch + 1h,
                     .last_seen = kEpoch};
  auto up = must(store->upsert_user_on_login({.name = "alice", .session = session}));
  auto stored = must(store->get_session("h1"));
  EXPECT_EQ(stored.user_id, up.user.id);
  EXPECT_EQ(stored.provider, "idp");

  // A session that cannot be written undoes the whole login: no user appears without it.
  auto again = store->upsert_user_on_login({.name = "bob", .session = session});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::conflict);
  EXPECT_FALSE(must(store->user_exists("bob")));
}

TEST_P(Users, CreateUserTwiceIsAConflict) {
  must(store->create_user("alice", false));
  auto r = store->create_user("alice", true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_EQ(r.error().message, "a user named 'alice' already exists");
  EXPECT_FALSE(must(store->get_user("alice")).admin);
}

TEST_P(Users, CreateUsersSkipsExistingAndRepeatedNames) {
  must(store->create_user("bob", false));
  Strings names{"alice", "bob", "carol", "alice"};
  auto created = must(store->create_users(names, true));
  ASSERT_EQ(created.size(), 2u);
  EXPECT_EQ(created[0].name, "alice");
  EXPECT_EQ(created[1].name, "carol");
  EXPECT_TRUE(created[1].admin);
  EXPECT_EQ(created[1].created, kEpoch);
  EXPECT_FALSE(must(store->get_user("bob")).admin);  // untouched
}

TEST_P(Users, CreateUsersWithABadNameCreatesNone) {
  Strings names{"dora", ""};
  EXPECT_FALSE(store->create_users(names, false));
  EXPECT_FALSE(must(store->user_exists("dora")));
}

TEST_P(Users, UnknownUsersAreNotFound) {
  auto r = store->get_user("nobody");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(r.error().message, "no user named 'nobody'");
  EXPECT_EQ(store->get_user_by_id(42).error().code, Errc::not_found);
  EXPECT_EQ(store->set_admin("nobody", true).error().code, Errc::not_found);
  EXPECT_EQ(store->set_auth_state("nobody", "x").error().code, Errc::not_found);
  EXPECT_EQ(store->delete_user("nobody").error().code, Errc::not_found);
  EXPECT_EQ(store->touch_activity("nobody", kEpoch).error().code, Errc::not_found);
  EXPECT_FALSE(must(store->user_exists("nobody")));
}

TEST_P(Users, EmptyNamesAreRefused) {
  EXPECT_EQ(store->create_user("", false).error().code, Errc::bad_request);
  EXPECT_EQ(store->upsert_user_on_login({.name = ""}).error().code, Errc::bad_request);
  auto r = store->upsert_user_on_login({.name = "alice", .groups = Strings{""}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_request);
  EXPECT_FALSE(must(store->user_exists("alice")));  // the whole login rolled back
}

TEST_P(Users, ListPagesInCreationOrderWithGroupsAndCounts) {
  for (auto name : {"e", "d", "c", "b", "a"})
    must(store->upsert_user_on_login(
        {.name = name, .groups = Strings{std::string("g") + name, "all"}}));
  EXPECT_EQ(must(store->count_users()), 5);
  auto page = must(store->list_users(1, 2));
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].name, "d");
  EXPECT_EQ(page[0].groups, (Strings{"all", "gd"}));
  EXPECT_EQ(page[1].name, "c");
  EXPECT_EQ(page[1].groups, (Strings{"all", "gc"}));
  EXPECT_TRUE(must(store->list_users(5, 10)).empty());
  EXPECT_EQ(store->list_users(-1, 10).error().code, Errc::bad_request);
}

TEST_P(Users, ActivityNeverMovesBackwards) {
  must(store->create_user("alice", false));
  must(store->touch_activity("alice", kEpoch + 10s));
  must(store->touch_activity("alice", kEpoch + 5s));  // a late report from a proxy
  EXPECT_EQ(must(store->get_user("alice")).last_activity, kEpoch + 10s);
  must(store->touch_activity("alice", kEpoch + 20s));
  EXPECT_EQ(must(store->get_user("alice")).last_activity, kEpoch + 20s);
}

TEST_P(Users, SetAdminPromotesAndDemotes) {
  must(store->create_user("alice", false));
  must(store->set_admin("alice", true));
  EXPECT_TRUE(must(store->get_user("alice")).admin);
  must(store->set_admin("alice", false));
  EXPECT_FALSE(must(store->get_user("alice")).admin);
}

TEST_P(Users, DeleteTakesSessionsAndMembershipsAlong) {
  auto alice = must(store->upsert_user_on_login({.name = "alice", .groups = Strings{"g"}}));
  must(store->create_session({.id_hash = "h1",
                              .user_id = alice.user.id,
                              .provider = "p",
                              .created = kEpoch,
                              .expires = kEpoch + 1h,
                              .last_seen = kEpoch}));
  must(store->delete_user("alice"));
  EXPECT_EQ(store->get_user("alice").error().code, Errc::not_found);
  EXPECT_EQ(store->get_session("h1").error().code, Errc::not_found);
  EXPECT_EQ(must(store->delete_sessions_for_user(alice.user.id)), 0);
  EXPECT_TRUE(must(store->get_group("g")).members.empty());
}

TEST_P(Users, DeleteTakesTokensOAuthClientsCodesAndServersAlong) {
  auto alice = must(store->create_user("alice", false)).id;
  auto bob = must(store->create_user("bob", false)).id;
  for (auto [user, name] : {std::pair{alice, "alice"}, {bob, "bob"}}) {
    std::string client = std::string("jupyterhub-user-") + name;
    must(store->upsert_oauth_client({.client_id = client,
                                     .redirect_uri = std::string("/user/") + name + "/callback",
                                     .secret_hash = hash_of(std::string(name) + "-secret"),
                                     .user_id = user,
                                     .created = kEpoch}));
    must(store->create_oauth_code({.code_hash = hash_of(std::string(name) + "-code"),
                                   .client_id = client,
                                   .user_id = user,
                                   .created = kEpoch,
                                   .expires = kEpoch + 300s}));
    must(store->create_token({.hash = hash_of(std::string(name) + "-token"),
                              .user_id = user,
                              .server_name = "",
                              .kind = "server",
                              .created = kEpoch}));
    must(store->upsert_server({.user_id = user, .name = ""}));
  }
  must(store->delete_user("alice"));
  EXPECT_EQ(store->find_token(hash_of("alice-token")).error().code, Errc::not_found);
  EXPECT_EQ(store->get_oauth_client("jupyterhub-user-alice").error().code, Errc::not_found);
  EXPECT_EQ(store->consume_oauth_code(hash_of("alice-code")).error().code, Errc::not_found);
  EXPECT_TRUE(must(store->list_tokens(alice)).empty());
  EXPECT_TRUE(must(store->list_servers_for_user(alice)).empty());
  // Bob's rows are untouched.
  EXPECT_TRUE(store->find_token(hash_of("bob-token")));
  EXPECT_TRUE(store->get_oauth_client("jupyterhub-user-bob"));
  EXPECT_TRUE(store->consume_oauth_code(hash_of("bob-code")));
  auto all = must(store->list_servers());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].user_name, "bob");
}

TEST_P(Users, IdsAreNeverReused) {
  must(store->create_user("a", false));
  auto b = must(store->create_user("b", false));
  must(store->delete_user("b"));
  auto c = must(store->create_user("c", false));
  EXPECT_GT(c.id, b.id);
}

TEST_P(Groups, AddGetAndConflict) {
  boost::json::object props{{"quota", 10}, {"tier", "gpu"}};
  auto g = must(store->add_group("physics", props));
  EXPECT_EQ(g.name, "physics");
  EXPECT_EQ(g.properties, props);
  EXPECT_EQ(must(store->get_group("physics")), g);
  auto r = store->add_group("physics", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_EQ(r.error().message, "a group named 'physics' already exists");
  EXPECT_EQ(store->get_group("chemistry").error().message, "no group named 'chemistry'");
}

TEST_P(Groups, SetMembersReplacesAndRefusesUnknownUsers) {
  for (auto name : {"alice", "bob", "carol"}) must(store->create_user(name, false));
  must(store->add_group("g", {}));
  must(store->set_group_members("g", {"bob", "alice", "bob"}));
  EXPECT_EQ(must(store->get_group("g")).members, (Strings{"alice", "bob"}));
  EXPECT_EQ(must(store->get_user("alice")).groups, Strings{"g"});

  auto r = store->set_group_members("g", {"carol", "mallory"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(r.error().message, "no user named 'mallory'");
  EXPECT_EQ(must(store->get_group("g")).members, (Strings{"alice", "bob"}));  // unchanged

  must(store->set_group_members("g", {"carol"}));
  EXPECT_EQ(must(store->get_group("g")).members, Strings{"carol"});
  EXPECT_EQ(store->set_group_members("nope", {}).error().code, Errc::not_found);
}

TEST_P(Groups, ListPagesByNameAndDeleteRemovesMemberships) {
  must(store->upsert_user_on_login({.name = "alice", .groups = Strings{"c", "a", "b"}}));
  auto page = must(store->list_groups(1, 5));
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].name, "b");
  EXPECT_EQ(page[0].members, Strings{"alice"});
  must(store->delete_group("b"));
  EXPECT_EQ(must(store->get_user("alice")).groups, (Strings{"a", "c"}));
  EXPECT_EQ(store->delete_group("b").error().code, Errc::not_found);
}

TEST_P(Users, RenameKeepsTheIdAndRefusesATakenOrEmptyName) {
  auto alice = must(store->create_user("alice", false));
  must(store->create_user("bob", false));
  must(store->rename_user("alice", "alicia"));
  EXPECT_EQ(must(store->get_user("alicia")).id, alice.id);
  EXPECT_EQ(store->get_user("alice").error().code, Errc::not_found);
  EXPECT_EQ(store->rename_user("alicia", "bob").error().code, Errc::conflict);
  EXPECT_EQ(store->rename_user("nobody", "x").error().code, Errc::not_found);
  EXPECT_EQ(store->rename_user("alicia", "").error().code, Errc::bad_request);
}

TEST_P(Groups, SetPropertiesReplacesThemAndNamesAnUnknownGroup) {
  must(store->add_group("g", {{"a", 1}}));
  boost::json::object props{{"quota", 5}};
  must(store->set_group_properties("g", props));
  EXPECT_EQ(must(store->get_group("g")).properties, props);
  EXPECT_EQ(store->set_group_properties("nope", props).error().code, Errc::not_found);
}

INSTANTIATE_TEST_SUITE_P(Backends, Users, kBackends, backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, Groups, kBackends, backend_name);
