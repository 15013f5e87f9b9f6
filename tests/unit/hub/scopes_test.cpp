// Roles and scopes (spec/jupyterhub-contract.md §4.6): expansion, filters, token intersection,
// load_roles and config services.
#include <gtest/gtest.h>

#include "core/crypto.hpp"
#include "hub/roles.hpp"
#include "hub/scopes.hpp"
#include "hub/services.hpp"

namespace nbhub::hub {
namespace {

store::UserRow user(std::string name, bool admin = false, std::vector<std::string> groups = {}) {
  store::UserRow u;
  u.name = std::move(name);
  u.admin = admin;
  u.groups = std::move(groups);
  return u;
}

ScopeTarget on_user(std::string name, std::vector<std::string> groups = {}) {
  return ScopeTarget{.user = std::move(name), .user_groups = std::move(groups)};
}

TEST(Scopes, SelfExpandsToTheOwnersResourcesOnly) {
  auto s = expand_scopes({"self"}, ScopeOwner{ScopeOwner::Kind::user, "alice", std::nullopt});
  EXPECT_TRUE(has_scope(s, "read:users", on_user("alice")));
  EXPECT_TRUE(has_scope(s, "read:users:activity", on_user("alice")));
  EXPECT_TRUE(has_scope(s, "delete:servers", on_user("alice")));
  EXPECT_TRUE(has_scope(s, "tokens", on_user("alice")));
  EXPECT_FALSE(has_scope(s, "read:users", on_user("bob")));
  EXPECT_FALSE(has_scope(s, "list:users"));
  EXPECT_FALSE(has_scope(s, "admin:users", on_user("alice")));
  EXPECT_TRUE(has_any_scope(s, "read:users"));
  EXPECT_FALSE(has_any_scope(s, "list:groups"));
}

TEST(Scopes, SubscopesCarryTheirFilter) {
  auto s = expand_scopes({"admin:users!group=staff"}, ScopeOwner{});
  EXPECT_TRUE(has_scope(s, "read:users:name", on_user("carol", {"staff"})));
  EXPECT_TRUE(has_scope(s, "delete:users", on_user("carol", {"staff"})));
  EXPECT_FALSE(has_scope(s, "delete:users", on_user("carol", {"other"})));
  EXPECT_TRUE(has_scope(s, "users:activity", ScopeTarget{.group = "staff"}));
}

TEST(Scopes, ServerFilterMatchesOnlyThatServerAndGrantsTheName) {
  auto s = expand_scopes({"read:servers!server=alice/gpu", "access:servers!server=alice/"}, ScopeOwner{});
  EXPECT_TRUE(has_scope(s, "read:servers", ScopeTarget{.user = "alice", .server = "gpu"}));
  EXPECT_FALSE(has_scope(s, "read:servers", ScopeTarget{.user = "alice", .server = ""}));
  EXPECT_TRUE(has_scope(s, "access:servers", ScopeTarget{.user = "alice", .server = ""}));
  EXPECT_TRUE(has_scope(s, "read:users:name", on_user("alice")));
}

TEST(Scopes, BareOwnerFiltersResolveToTheOwner) {
  auto s = expand_scopes({"users:activity!user", "access:servers!server"},
                         ScopeOwner{ScopeOwner::Kind::user, "alice", std::string("")});
  EXPECT_TRUE(s.contains("users:activity!user=alice"));
  EXPECT_TRUE(s.contains("access:servers!server=alice/"));
  auto svc = expand_scopes({"read:users!user", "read:services!service"}, ScopeOwner{ScopeOwner::Kind::service, "cull", {}});
  EXPECT_TRUE(svc.contains("read:services!service=cull"));
  EXPECT_FALSE(has_any_scope(svc, "read:users"));
}

TEST(Scopes, ProblemsAreNamed) {
  EXPECT_FALSE(scope_problem("read:users!user=alice"));
  EXPECT_FALSE(scope_problem("custom:grader"));
  EXPECT_TRUE(scope_problem("read:userz"));
  EXPECT_TRUE(scope_problem("read:users!bogus=x"));
  EXPECT_TRUE(scope_problem("access:servers!server=alice"));
}

TEST(Scopes, TokenIsCutDownToItsOwner) {
  Roles roles;
  auto alice = user("alice");
  auto owner = roles.user_scopes(alice);
  ScopeOwner o{ScopeOwner::Kind::user, "alice", std::nullopt};
  store::TokenRow t;
  t.kind = "api";
  t.scopes = {"read:users", "admin:users", "read:users:activity!user=alice"};
  auto s = roles.token_scopes(t, o, owner, {});
  // Unfiltered read:users becomes alice's own; admin:users (not held) disappears.
  EXPECT_TRUE(has_scope(s, "read:users", on_user("alice")));
  EXPECT_FALSE(has_scope(s, "read:users", on_user("bob")));
  EXPECT_FALSE(has_any_scope(s, "admin:users"));
  EXPECT_FALSE(has_any_scope(s, "servers"));
  // Identify scopes are always there.
  EXPECT_TRUE(has_scope(s, "read:users:name", on_user("alice")));

  t.scopes = {};  // role `token` = inherit
  auto all = roles.token_scopes(t, o, owner, {});
  EXPECT_EQ(all, owner);
}

TEST(Scopes, GroupFilteredTokenNarrowsToMembers) {
  Roles roles;
  auto admin = roles.user_scopes(user("root", true));
  store::TokenRow t;
  t.kind = "api";
  t.scopes = {"read:users!group=staff"};
  auto s = roles.token_scopes(t, ScopeOwner{ScopeOwner::Kind::user, "root", {}}, admin, {});
  EXPECT_TRUE(has_scope(s, "read:users", on_user("carol", {"staff"})));
  EXPECT_FALSE(has_scope(s, "read:users", on_user("dave")));
}

TEST(Roles, AdminsAndConfigAssignments) {
  auto roles = Roles::load(R"([{"name": "graders", "scopes": ["read:users!group=students", "list:users"],
                                 "users": ["tina"], "groups": ["tas"]},
                                {"name": "user", "scopes": ["self", "read:hub"]}])");
  ASSERT_TRUE(roles) << roles.error().message;
  auto tina = user("tina");
  EXPECT_EQ(roles->role_names_for_user(tina), (std::vector<std::string>{"graders", "user"}));
  auto s = roles->user_scopes(tina);
  EXPECT_TRUE(has_scope(s, "read:users", on_user("sam", {"students"})));
  EXPECT_TRUE(has_scope(s, "read:hub"));  // the redefined `user` role
  auto ta = roles->user_scopes(user("tom", false, {"tas"}));
  EXPECT_TRUE(has_scope(ta, "list:users"));
  auto root = roles->user_scopes(user("root", true));
  EXPECT_TRUE(has_scope(root, "admin:users"));
  EXPECT_TRUE(has_scope(root, "delete:users", on_user("anyone")));
  EXPECT_TRUE(has_scope(root, "shutdown"));
  EXPECT_TRUE(roles->is_admin(user("root", true)));
}

// JupyterHub 6.0: start:servers is part of servers (and so of self), and alone it starts
// servers without reading or stopping them.
TEST(Scopes, StartServersComesWithServersAndStandsAlone) {
  auto self = expand_scopes({"self"}, ScopeOwner{ScopeOwner::Kind::user, "alice", std::nullopt});
  EXPECT_TRUE(has_scope(self, "start:servers", on_user("alice")));
  EXPECT_FALSE(has_scope(self, "start:servers", on_user("bob")));
  EXPECT_TRUE(has_scope(expand_scopes({"admin:servers"}, ScopeOwner{}), "start:servers", on_user("bob")));
  auto only = expand_scopes({"start:servers!server=alice/gpu"}, ScopeOwner{});
  EXPECT_TRUE(has_scope(only, "start:servers", ScopeTarget{.user = "alice", .server = "gpu"}));
  EXPECT_FALSE(has_scope(only, "start:servers", ScopeTarget{.user = "alice", .server = ""}));
  EXPECT_FALSE(has_scope(only, "delete:servers", ScopeTarget{.user = "alice", .server = "gpu"}));
  EXPECT_FALSE(has_scope(only, "read:servers", ScopeTarget{.user = "alice", .server = "gpu"}));
  EXPECT_FALSE(scope_problem("start:servers!user=alice"));
}

// JupyterHub 6.0's extra_user_scopes: added to the `user` role, unless load_roles gives that
// role scopes of its own.
TEST(Roles, ExtraUserScopesJoinTheUserRole) {
  auto roles = Roles::load("", {"list:users", "read:groups!group=class"});
  ASSERT_TRUE(roles) << roles.error().message;
  auto s = roles->user_scopes(user("amy"));
  EXPECT_TRUE(has_scope(s, "list:users"));
  EXPECT_TRUE(has_scope(s, "read:groups", ScopeTarget{.group = "class"}));
  EXPECT_FALSE(has_scope(s, "read:groups", ScopeTarget{.group = "staff"}));
  EXPECT_TRUE(has_scope(s, "read:users", on_user("amy")));  // self is still there

  auto redefined = Roles::load(R"([{"name": "user", "scopes": ["self"]}])", {"list:users"});
  ASSERT_TRUE(redefined) << redefined.error().message;
  EXPECT_FALSE(has_scope(redefined->user_scopes(user("amy")), "list:users"));

  auto bad = Roles::load("", {"list:userz"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("extra_user_scopes"), std::string::npos);
}

TEST(Roles, LoadRefusesUnknownScopesAndFields) {
  auto r = Roles::load(R"([{"name": "x", "scopes": ["read:userz"]}, {"name": "y", "scopes": [], "bogus": 1}])");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("read:userz"), std::string::npos);
  EXPECT_NE(r.error().message.find("bogus"), std::string::npos);
}

TEST(Services, TokensMatchByHashAndConfigErrorsAreNamed) {
  auto s = ServiceRegistry::load(R"([{"name": "cull", "api_token": "cull-token-123", "admin": true},
                                     {"name": "web", "url": "http://127.0.0.1:9999/"}])", "/jh/");
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_NE(s->by_token("cull-token-123"), nullptr);
  EXPECT_EQ(s->by_token("cull-token-123")->name, "cull");
  EXPECT_EQ(s->by_token("cull-token-124"), nullptr);
  EXPECT_EQ(s->by_token(""), nullptr);
  auto const* web = s->find("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->url, "http://127.0.0.1:9999");
  EXPECT_EQ(web->prefix, "/jh/services/web/");
  EXPECT_EQ(web->oauth_redirect_uri, "/jh/services/web/oauth_callback");
  EXPECT_EQ(web->oauth_client_id, "service-web");

  auto bad = ServiceRegistry::load(R"([{"name": "a", "api_token": "short"}, {"name": "a"}])", "/");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("at least 8"), std::string::npos);
  EXPECT_NE(bad.error().message.find("two services"), std::string::npos);
}

}  // namespace
}  // namespace nbhub::hub
