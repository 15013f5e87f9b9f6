#include "store/store.hpp"
#include "backends.hpp"
#include "store_fixture.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

using namespace nbhub;
using namespace nbhub::store;
using namespace nbhub::store::testing;

namespace {

class Servers : public BackendTest {
 protected:
  FakeClock clock{kEpoch};
  std::unique_ptr<Store> store = open_backend(clock);
  std::int64_t alice = must(store->create_user("alice", false)).id;
  std::int64_t bob = must(store->create_user("bob", false)).id;

  ServerRow server(std::int64_t user_id, std::string name) {
    return {.user_id = user_id,
            .name = std::move(name),
            .url = "http://127.0.0.1:53211",
            .state = {{"pid", 4242}, {"port", 53211}},
            .started = clock.now()};
  }
};

}  // namespace

TEST_P(Servers, UpsertInsertsThenUpdatesByUserAndNameKeepingTheId) {
  auto pending = server(alice, "");
  pending.url = "";
  pending.state = {};
  pending.started.reset();
  pending.pending = "spawn";
  auto inserted = must(store->upsert_server(pending));
  EXPECT_GT(inserted.id, 0);
  pending.id = inserted.id;
  EXPECT_EQ(inserted, pending);

  auto ready = server(alice, "");
  auto updated = must(store->upsert_server(ready));
  EXPECT_EQ(updated.id, inserted.id);
  ready.id = inserted.id;
  EXPECT_EQ(updated, ready);
  EXPECT_EQ(must(store->get_server(alice, "")), ready);

  // Same name for another user, another name for the same user: separate rows.
  EXPECT_NE(must(store->upsert_server(server(bob, ""))).id, inserted.id);
  EXPECT_NE(must(store->upsert_server(server(alice, "gpu"))).id, inserted.id);
  EXPECT_EQ(must(store->list_servers_for_user(alice)).size(), 2u);
}

TEST_P(Servers, SpawnerStateRoundTripsAsJson) {
  auto s = server(alice, "gpu");
  s.state = boost::json::parse(R"({
      "container_id": "3f2a9c",
      "pod": {"name": "jupyter-alice-gpu", "labels": {"app": "nbhub", "é": "ü"}},
      "ports": [8888, 8889], "ratio": 0.5, "big": 9007199254740993, "ok": true,
      "none": null, "quote": "a\"b\\c"})")
                .as_object();
  must(store->upsert_server(s));
  auto back = must(store->get_server(alice, "gpu"));
  EXPECT_EQ(back.state, s.state);
  EXPECT_EQ(back.state.at("big").as_int64(), 9007199254740993);  // not rounded via double
}

TEST_P(Servers, UpsertNeverMovesLastActivityBackwards) {
  auto s = server(alice, "");
  s.last_activity = kEpoch + 10s;
  must(store->upsert_server(s));
  s.last_activity = kEpoch + 5s;  // the hub's copy is older than a recorded report
  EXPECT_EQ(must(store->upsert_server(s)).last_activity, kEpoch + 10s);
  s.last_activity.reset();
  EXPECT_EQ(must(store->upsert_server(s)).last_activity, kEpoch + 10s);
  s.last_activity = kEpoch + 20s;
  EXPECT_EQ(must(store->upsert_server(s)).last_activity, kEpoch + 20s);
  // Other fields do follow the row: a stop clears started and the URL.
  s.started.reset();
  s.url = "";
  s.pending = "stop";
  auto stopped = must(store->upsert_server(s));
  EXPECT_FALSE(stopped.started);
  EXPECT_EQ(stopped.url, "");
  EXPECT_EQ(stopped.pending, "stop");
}

TEST_P(Servers, RefusesUnknownPendingActionsAndUsers) {
  auto s = server(alice, "");
  s.pending = "starting";
  auto r = store->upsert_server(s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_request);
  EXPECT_EQ(r.error().message,
            "unknown pending action 'starting' for a server (expected \"\", spawn or stop)");

  r = store->upsert_server(server(999, ""));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(r.error().message, "no user with id 999");
  EXPECT_TRUE(must(store->list_servers()).empty());
}

TEST_P(Servers, UnknownServersAreNotFoundWithTheUsersName) {
  EXPECT_EQ(store->get_server(alice, "").error().message, "user 'alice' has no default server");
  auto r = store->get_server(alice, "gpu");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(r.error().message, "user 'alice' has no server named 'gpu'");
  EXPECT_EQ(store->get_server(999, "").error().message, "no user with id 999");
  EXPECT_FALSE(must(store->delete_server(alice, "gpu")));
}

TEST_P(Servers, ListAllCarriesUserNamesInNameOrder) {
  auto carol = must(store->create_user("carol", false)).id;
  must(store->upsert_server(server(carol, "")));
  must(store->upsert_server(server(alice, "gpu")));
  must(store->upsert_server(server(alice, "")));
  must(store->upsert_server(server(bob, "big")));

  auto all = must(store->list_servers());
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].user_name, "alice");
  EXPECT_EQ(all[0].server.name, "");
  EXPECT_EQ(all[1].user_name, "alice");
  EXPECT_EQ(all[1].server.name, "gpu");
  EXPECT_EQ(all[2].user_name, "bob");
  EXPECT_EQ(all[2].server, must(store->get_server(bob, "big")));
  EXPECT_EQ(all[3].user_name, "carol");

  auto mine = must(store->list_servers_for_user(alice));
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].name, "");  // the default server first
  EXPECT_EQ(mine[1].name, "gpu");
  EXPECT_TRUE(must(store->list_servers_for_user(999)).empty());
}

TEST_P(Servers, DeleteRemovesOneServerAndLeavesItsTokens) {
  must(store->upsert_server(server(alice, "")));
  must(store->upsert_server(server(alice, "gpu")));
  auto token = must(store->create_token({.hash = hash_of("server-token"),
                                         .user_id = alice,
                                         .server_name = "gpu",
                                         .kind = "server",
                                         .created = kEpoch}));
  EXPECT_TRUE(must(store->delete_server(alice, "gpu")));
  EXPECT_FALSE(must(store->delete_server(alice, "gpu")));
  EXPECT_EQ(store->get_server(alice, "gpu").error().code, Errc::not_found);
  EXPECT_TRUE(store->get_server(alice, ""));
  EXPECT_TRUE(store->find_token(token.hash));  // delete_tokens_for_server is the hub's call
}

TEST_P(Servers, ActivityNeverMovesBackwardsAndBumpsTheUser) {
  must(store->upsert_server(server(alice, "")));
  must(store->upsert_server(server(alice, "gpu")));
  must(store->touch_server_activity(alice, "", kEpoch + 10s));
  must(store->touch_server_activity(alice, "", kEpoch + 5s));  // a late report from the proxy
  EXPECT_EQ(must(store->get_server(alice, "")).last_activity, kEpoch + 10s);
  EXPECT_EQ(must(store->get_user("alice")).last_activity, kEpoch + 10s);

  // An older report for another server still counts for that server, not for the user.
  must(store->touch_server_activity(alice, "gpu", kEpoch + 7s));
  EXPECT_EQ(must(store->get_server(alice, "gpu")).last_activity, kEpoch + 7s);
  EXPECT_EQ(must(store->get_user("alice")).last_activity, kEpoch + 10s);

  // A newer report moves both.
  must(store->touch_server_activity(alice, "gpu", kEpoch + 30s));
  EXPECT_EQ(must(store->get_server(alice, "gpu")).last_activity, kEpoch + 30s);
  EXPECT_EQ(must(store->get_user("alice")).last_activity, kEpoch + 30s);

  // The user moves even when the server's row is newer than the report (an upsert wrote it).
  auto s = server(alice, "");
  s.last_activity = kEpoch + 50s;
  must(store->upsert_server(s));
  must(store->touch_server_activity(alice, "", kEpoch + 40s));
  EXPECT_EQ(must(store->get_server(alice, "")).last_activity, kEpoch + 50s);
  EXPECT_EQ(must(store->get_user("alice")).last_activity, kEpoch + 40s);
}

TEST_P(Servers, ActivityForAnUnknownServerChangesNothing) {
  auto r = store->touch_server_activity(alice, "gpu", kEpoch + 10s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(r.error().message, "user 'alice' has no server named 'gpu'");
  EXPECT_FALSE(must(store->get_user("alice")).last_activity);
  EXPECT_EQ(store->touch_server_activity(999, "", kEpoch).error().message,
            "no user with id 999");
}

INSTANTIATE_TEST_SUITE_P(Backends, Servers, kBackends, backend_name);
