// The servers' state machine in the store (migration 8, docs/replicas.md) on both back ends:
// compare-and-set transitions, lease takeover, bounded progress events; and on PostgreSQL (and
// one SQLite file) the race the rules exist for: many "replicas" claiming one server at once.
#include "store/store.hpp"
#include "backends.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace nbhub;
using namespace nbhub::store;
using namespace nbhub::store::testing;
using namespace std::chrono_literals;

namespace {

class ServerState : public BackendTest {
 protected:
  FakeClock clock{kEpoch};
  std::unique_ptr<Store> store = open_backend(clock);
  std::int64_t alice = must(store->create_user("alice", false)).id;

  // The driver's next write: `row` with a url and spawner state, still pending.
  static ServerRow started(ServerRow row) {
    row.url = "http://127.0.0.1:53211";
    row.state = {{"pid", 4242}};
    return row;
  }
  static ServerRow ready(ServerRow row, Time when) {
    row = started(std::move(row));
    row.pending = "";
    row.started = when;
    row.lease_until.reset();
    return row;
  }
};

}  // namespace

TEST_P(ServerState, OneClaimWinsUntilTheServerIsStoppedAgain) {
  auto const now = clock.now();
  auto a = must(store->claim_server_start(alice, "", "replica-a", now + 30s));
  ASSERT_TRUE(a.won);
  EXPECT_EQ(phase_of(a.row), ServerPhase::pending);
  EXPECT_EQ(a.row.driver, "replica-a");
  EXPECT_EQ(a.row.lease_until, now + 30s);
  EXPECT_EQ(a.row.version, 1);

  // A second start, from any replica, while pending or ready, loses and sees the row.
  auto b = must(store->claim_server_start(alice, "", "replica-b", now + 30s));
  EXPECT_FALSE(b.won);
  EXPECT_EQ(b.row, a.row);
  auto up = must(store->advance_server(ready(a.row, now), a.row.version));
  EXPECT_EQ(phase_of(up), ServerPhase::ready);
  EXPECT_EQ(up.version, 2);
  EXPECT_FALSE(must(store->claim_server_start(alice, "", "replica-b", now + 30s)).won);

  // Stopping (by replica-b) and stopped: the row is gone, and the next claim starts afresh.
  auto stopping = up;
  stopping.pending = "stop";
  stopping.driver = "replica-b";
  stopping.lease_until = now + 30s;
  stopping = must(store->advance_server(stopping, up.version));
  EXPECT_EQ(phase_of(stopping), ServerPhase::stopping);
  EXPECT_FALSE(must(store->claim_server_start(alice, "", "replica-a", now + 30s)).won);
  EXPECT_TRUE(must(store->finish_server_stop(stopping.id, stopping.version, "replica-b")));
  EXPECT_EQ(store->get_server(alice, "").error().code, Errc::not_found);
  auto again = must(store->claim_server_start(alice, "", "replica-a", now + 30s));
  EXPECT_TRUE(again.won);
  EXPECT_EQ(again.row.version, 1);
}

TEST_P(ServerState, AFailedStartLeavesAStoppedRowWithItsErrorThatTheNextClaimClears) {
  auto const now = clock.now();
  auto claim = must(store->claim_server_start(alice, "gpu", "replica-a", now + 30s));
  must(store->append_server_event(claim.row.id, {{"progress", 0}, {"message", "Server requested"}}, 50, "replica-a"));
  auto failed = claim.row;
  failed.pending = "";
  failed.lease_until.reset();
  failed.last_error = "image not found";
  failed = must(store->advance_server(failed, claim.row.version));
  EXPECT_EQ(phase_of(failed), ServerPhase::stopped);
  EXPECT_EQ(must(store->get_server(alice, "gpu")).last_error, "image not found");
  EXPECT_EQ(must(store->list_server_events(failed.id, 0)).size(), 1u);

  auto next = must(store->claim_server_start(alice, "gpu", "replica-b", now + 30s));
  ASSERT_TRUE(next.won);
  EXPECT_EQ(next.row.id, claim.row.id);
  EXPECT_EQ(next.row.last_error, "");
  EXPECT_EQ(next.row.version, failed.version + 1);
  EXPECT_TRUE(must(store->list_server_events(next.row.id, 0)).empty());
}

TEST_P(ServerState, AWriteWithAnOldVersionIsRefused) {
  auto const now = clock.now();
  auto claim = must(store->claim_server_start(alice, "", "replica-a", now + 30s));
  auto first = must(store->advance_server(started(claim.row), claim.row.version));
  // The same version again: another replica (or a takeover) got there first.
  auto stale = store->advance_server(ready(claim.row, now), claim.row.version);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, Errc::conflict);
  EXPECT_EQ(must(store->get_server(alice, "")), first);
  // Finishing a stop at an old version deletes nothing.
  EXPECT_FALSE(must(store->finish_server_stop(claim.row.id, claim.row.version, "replica-a")));
  EXPECT_TRUE(store->get_server(alice, "").has_value());
  // A row that is gone.
  must(store->delete_server(alice, ""));
  auto gone = store->advance_server(ready(first, now), first.version);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::conflict);
}

TEST_P(ServerState, ALeaseIsTakenOverOnlyOnceItRanOut) {
  auto const now = clock.now();
  auto claim = must(store->claim_server_start(alice, "", "replica-a", now + 30s));
  // Live lease: nobody takes over.
  EXPECT_FALSE(must(store->take_over_server(claim.row.id, claim.row.version, "replica-b", now + 29s, now + 59s)));
  // The driver renews; still live at the old expiry.
  EXPECT_TRUE(must(store->renew_server_lease(claim.row.id, "replica-a", now + 60s)));
  EXPECT_FALSE(must(store->take_over_server(claim.row.id, claim.row.version, "replica-b", now + 31s, now + 61s)));
  // It ran out: one replica takes over, and the old driver can neither renew nor write.
  auto taken = must(store->take_over_server(claim.row.id, claim.row.version, "replica-b", now + 60s, now + 90s));
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->driver, "replica-b");
  EXPECT_EQ(taken->version, claim.row.version + 1);
  EXPECT_FALSE(must(store->take_over_server(claim.row.id, claim.row.version, "replica-c", now + 60s, now + 90s)));
  EXPECT_FALSE(must(store->renew_server_lease(claim.row.id, "replica-a", now + 120s)));
  EXPECT_FALSE(store->advance_server(ready(claim.row, now), claim.row.version));
  EXPECT_TRUE(must(store->renew_server_lease(claim.row.id, "replica-b", now + 120s)));
  // A ready server has no transition to take over.
  auto up = must(store->advance_server(ready(*taken, now), taken->version));
  EXPECT_FALSE(must(store->take_over_server(up.id, up.version, "replica-c", now + 1000s, now + 1030s)));
  EXPECT_FALSE(must(store->renew_server_lease(up.id, "replica-b", now + 1000s)));
}

TEST_P(ServerState, ProgressEventsAreNumberedAndBounded) {
  auto const now = clock.now();
  auto claim = must(store->claim_server_start(alice, "", "replica-a", now + 30s));
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(must(store->append_server_event(claim.row.id, {{"progress", i * 10}}, 5, "replica-a")), i + 1);
  auto all = must(store->list_server_events(claim.row.id, 0));
  ASSERT_EQ(all.size(), 5u);  // the newest five
  EXPECT_EQ(all.front().seq, 4);
  EXPECT_EQ(all.back().seq, 8);
  EXPECT_EQ(all.back().event.at("progress"), 70);
  auto after = must(store->list_server_events(claim.row.id, 7));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].seq, 8);
  // Events of a server that is gone: not_found; its events went with it.
  must(store->delete_server(alice, ""));
  EXPECT_EQ(store->append_server_event(claim.row.id, {{"progress", 1}}, 5, "replica-a").error().code, Errc::not_found);
  EXPECT_TRUE(must(store->list_server_events(claim.row.id, 0)).empty());
}

TEST_P(ServerState, ClaimForAnUnknownUserOrWithoutADriverIsRefused) {
  auto const now = clock.now();
  EXPECT_EQ(store->claim_server_start(alice + 1000, "", "replica-a", now).error().code, Errc::not_found);
  EXPECT_EQ(store->claim_server_start(alice, "", "", now).error().code, Errc::bad_request);
}

// Rows written before migration 6 (upsert_server, as older binaries and `db copy` write them)
// read as their phase, at version 0, and can be claimed once stopped.
TEST_P(ServerState, RowsWithoutStateMachineColumnsReadAsTheirPhase) {
  auto row = must(store->upsert_server({.user_id = alice, .name = "", .url = "http://127.0.0.1:1",
                                        .state = {{"pid", 1}}, .started = clock.now()}));
  EXPECT_EQ(phase_of(row), ServerPhase::ready);
  EXPECT_EQ(row.version, 0);
  EXPECT_EQ(row.driver, "");
  row.pending = "spawn";
  EXPECT_EQ(phase_of(row), ServerPhase::pending);
  row.pending = "stop";
  EXPECT_EQ(phase_of(row), ServerPhase::stopping);
  row.pending = "";
  row.url = "";
  EXPECT_EQ(phase_of(row), ServerPhase::stopped);
}

// Eight "replicas", each with its own store on one database, claim the same stopped server at
// the same instant, over many rounds: exactly one wins each round, the others see it pending.
TEST_P(ServerState, ConcurrentClaimsOnOneDatabaseStartTheServerOnce) {
  TempDir dir;
  if (GetParam() == Backend::sqlite) url_ = dir.url("hub.sqlite");
  constexpr int kReplicas = 8;
  constexpr int kRounds = 25;
  std::vector<std::unique_ptr<FakeClock>> clocks;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kReplicas; ++i) {
    clocks.push_back(std::make_unique<FakeClock>(kEpoch));
    stores.push_back(open_migrated(url_, *clocks.back(), {.pool_size = 1}));
  }
  auto const bob = must(stores[0]->create_user("bob", false)).id;
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<int> winners{0}, errors{0}, ready{0}, saw_pending{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kReplicas; ++i)
      threads.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < kReplicas) std::this_thread::yield();
        auto r = stores[i]->claim_server_start(bob, "", "replica-" + std::to_string(i), kEpoch + 30s);
        if (!r) errors.fetch_add(1);
        else if (r->won) winners.fetch_add(1);
        else if (phase_of(r->row) == ServerPhase::pending) saw_pending.fetch_add(1);
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0) << "round " << round;
    EXPECT_EQ(winners.load(), 1) << "round " << round;
    EXPECT_EQ(saw_pending.load(), kReplicas - 1) << "round " << round;
    // The winner's start fails at once, leaving a stopped row for the next round.
    auto row = must(stores[0]->get_server(bob, ""));
    row.pending = "";
    must(stores[0]->advance_server(row, row.version));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ServerState, kBackends, backend_name);
