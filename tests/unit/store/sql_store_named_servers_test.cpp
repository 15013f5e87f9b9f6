// Named servers defined before they run (JupyterHub 6.0's PUT and PATCH; migration 6), and
// every server's last choices (migration 9), on SQLite and PostgreSQL.
#include "store/store.hpp"
#include "backends.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

using namespace nbhub;
using namespace nbhub::store;
using namespace nbhub::store::testing;

namespace {

class NamedServers : public BackendTest {
 protected:
  FakeClock clock{kEpoch};
  std::unique_ptr<Store> store = open_backend(clock);
  std::int64_t alice = must(store->create_user("alice", false)).id;
  std::int64_t bob = must(store->create_user("bob", false)).id;

  NamedServerRow def(std::int64_t user, std::string name, std::string display) {
    return {.user_id = user, .name = std::move(name), .display_name = std::move(display),
            .user_options = {{"size", "xl"}, {"gpus", 2}}};
  }
};

}  // namespace

TEST_P(NamedServers, CreateThenReadBackWithOptionsAndCreationTime) {
  auto created = must(store->create_named_server(def(alice, "gpu-1", "GPU ✓")));
  auto want = def(alice, "gpu-1", "GPU ✓");
  want.created = kEpoch;
  EXPECT_EQ(created, want);
  EXPECT_EQ(must(store->get_named_server(alice, "gpu-1")), want);
  EXPECT_FALSE(must(store->get_named_server(bob, "gpu-1")));
  EXPECT_FALSE(must(store->get_named_server(alice, "other")));
}

TEST_P(NamedServers, ASecondDefinitionOfTheSameNameIsAConflict) {
  must(store->create_named_server(def(alice, "gpu-1", "a")));
  auto again = store->create_named_server(def(alice, "gpu-1", "b"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::conflict);
  EXPECT_EQ(again.error().message, "a server named 'gpu-1' already exists");
  must(store->create_named_server(def(bob, "gpu-1", "bob's")));  // per user
  auto nobody = store->create_named_server(def(999, "x", "x"));
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().code, Errc::not_found);
}

TEST_P(NamedServers, ListIsByNameAndPerUser) {
  must(store->create_named_server(def(alice, "b", "B")));
  must(store->create_named_server(def(alice, "a", "A")));
  must(store->create_named_server(def(bob, "c", "C")));
  auto list = must(store->list_named_servers(alice));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "a");
  EXPECT_EQ(list[1].name, "b");
  EXPECT_TRUE(must(store->list_named_servers(12345)).empty());
}

TEST_P(NamedServers, UpdateRenamesAndReplacesFields) {
  must(store->create_named_server(def(alice, "a", "A")));
  must(store->create_named_server(def(alice, "b", "B")));
  auto next = def(alice, "c", "Sea");
  next.user_options = {{"size", "s"}};
  auto updated = must(store->update_named_server(alice, "a", next));
  EXPECT_EQ(updated.name, "c");
  EXPECT_EQ(updated.display_name, "Sea");
  EXPECT_EQ(updated.user_options, (boost::json::object{{"size", "s"}}));
  EXPECT_EQ(updated.created, kEpoch);
  EXPECT_FALSE(must(store->get_named_server(alice, "a")));

  auto clash = store->update_named_server(alice, "c", def(alice, "b", "x"));
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, Errc::conflict);
  auto missing = store->update_named_server(alice, "zzz", def(alice, "zzz", "x"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_P(NamedServers, DeleteAndCascadeWithTheUser) {
  must(store->create_named_server(def(alice, "a", "A")));
  EXPECT_TRUE(must(store->delete_named_server(alice, "a")));
  EXPECT_FALSE(must(store->delete_named_server(alice, "a")));
  must(store->create_named_server(def(bob, "b", "B")));
  must(store->delete_user("bob"));
  EXPECT_TRUE(must(store->list_named_servers(bob)).empty());
}

// Migration 9: what a start asked for outlives the stop (the servers row is deleted then).
TEST_P(NamedServers, ChoicesAreSavedPerServerAndReplacedByTheNextStart) {
  EXPECT_FALSE(must(store->get_server_choices(alice, "")));
  must(store->save_server_choices({.user_id = alice, .name = "", .user_options = {{"profile", "gpu"}}}));
  must(store->save_server_choices({.user_id = alice, .name = "x", .display_name = "Ex ✓",
                                   .user_options = {{"profile", "cpu"}}}));
  clock.advance(std::chrono::seconds(5));
  must(store->save_server_choices({.user_id = alice, .name = "", .user_options = {{"profile", "big"}, {"n", 2}}}));
  auto def_server = must(store->get_server_choices(alice, ""));
  ASSERT_TRUE(def_server);
  EXPECT_EQ(*def_server, (ServerChoicesRow{.user_id = alice, .name = "", .display_name = "",
                                           .user_options = {{"profile", "big"}, {"n", 2}},
                                           .updated = kEpoch + std::chrono::seconds(5)}));
  auto x = must(store->get_server_choices(alice, "x"));
  ASSERT_TRUE(x);
  EXPECT_EQ(x->display_name, "Ex ✓");
  EXPECT_EQ(x->user_options, (boost::json::object{{"profile", "cpu"}}));
  EXPECT_EQ(x->updated, kEpoch);
  EXPECT_FALSE(must(store->get_server_choices(bob, "x")));

  auto nobody = store->save_server_choices({.user_id = 999, .name = ""});
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().code, Errc::not_found);
  must(store->delete_user("alice"));
  EXPECT_FALSE(must(store->get_server_choices(alice, "")));
}

// As JupyterHub's orm.Spawner: a defined server keeps what its last start asked for.
TEST_P(NamedServers, ChoicesOfADefinedServerUpdateItsDefinition) {
  must(store->create_named_server(def(alice, "gpu-1", "GPU")));
  must(store->save_server_choices({.user_id = alice, .name = "gpu-1", .user_options = {{"size", "s"}}}));
  auto d = must(store->get_named_server(alice, "gpu-1"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->display_name, "GPU");  // a start without a label keeps the definition's
  EXPECT_EQ(d->user_options, (boost::json::object{{"size", "s"}}));
  must(store->save_server_choices({.user_id = alice, .name = "gpu-1", .display_name = "Big GPU",
                                   .user_options = {{"size", "xl"}}}));
  d = must(store->get_named_server(alice, "gpu-1"));
  EXPECT_EQ(d->display_name, "Big GPU");
  EXPECT_EQ(d->user_options, (boost::json::object{{"size", "xl"}}));
}

TEST_P(NamedServers, ChoicesFollowARenameAndGoWithTheDefinition) {
  must(store->create_named_server(def(alice, "a", "A")));
  must(store->save_server_choices({.user_id = alice, .name = "a", .user_options = {{"k", "from a"}}}));
  must(store->save_server_choices({.user_id = alice, .name = "c", .user_options = {{"k", "stale c"}}}));
  must(store->update_named_server(alice, "a", def(alice, "c", "Sea")));
  EXPECT_FALSE(must(store->get_server_choices(alice, "a")));
  auto c = must(store->get_server_choices(alice, "c"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user_options.at("k"), "from a");
  EXPECT_TRUE(must(store->delete_named_server(alice, "c")));
  EXPECT_FALSE(must(store->get_server_choices(alice, "c")));
}

INSTANTIATE_TEST_SUITE_P(Backends, NamedServers, kBackends, backend_name);
