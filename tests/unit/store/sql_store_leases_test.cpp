// Named leases (migration 5, docs/replicas.md) on both back ends, and on PostgreSQL the race
// they exist for: many connections of "different replicas" trying to take one lease at once.
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

class Leases : public BackendTest {
 protected:
  FakeClock clock{kEpoch};
  std::unique_ptr<Store> store = open_backend(clock);
};

}  // namespace

TEST_P(Leases, OneHolderUntilTheLeaseRunsOutOrIsReleased) {
  auto const now = clock.now();
  EXPECT_FALSE(must(store->get_lease("job culler")).has_value());
  EXPECT_TRUE(must(store->take_lease("job culler", "replica-a", now, now + 15s)));
  EXPECT_FALSE(must(store->take_lease("job culler", "replica-b", now + 1s, now + 16s)));
  auto row = must(store->get_lease("job culler"));
  ASSERT_TRUE(row);
  EXPECT_EQ(row->holder, "replica-a");
  EXPECT_EQ(row->expires, now + 15s);
  // The holder renews; the others still lose until the renewed lease runs out.
  EXPECT_TRUE(must(store->take_lease("job culler", "replica-a", now + 5s, now + 20s)));
  EXPECT_FALSE(must(store->take_lease("job culler", "replica-b", now + 19s, now + 34s)));
  // replica-a died: at expiry replica-b takes over, and replica-a coming back loses.
  EXPECT_TRUE(must(store->take_lease("job culler", "replica-b", now + 20s, now + 35s)));
  EXPECT_FALSE(must(store->take_lease("job culler", "replica-a", now + 21s, now + 36s)));
  EXPECT_EQ(must(store->get_lease("job culler"))->holder, "replica-b");
  // Releasing by a non-holder is a no-op; by the holder frees it at once.
  must(store->release_lease("job culler", "replica-a"));
  EXPECT_FALSE(must(store->take_lease("job culler", "replica-c", now + 22s, now + 37s)));
  must(store->release_lease("job culler", "replica-b"));
  EXPECT_FALSE(must(store->get_lease("job culler")).has_value());
  EXPECT_TRUE(must(store->take_lease("job culler", "replica-c", now + 23s, now + 38s)));
  // Leases are per name, and the ACME leases are a table of their own.
  EXPECT_TRUE(must(store->take_lease("refresh alice", "replica-a", now, now + 60s)));
  EXPECT_TRUE(must(store->take_acme_lease("job culler", "replica-a", now, now + 60s)));
}

TEST_P(Leases, EmptyNameOrHolderIsRefused) {
  auto const now = clock.now();
  auto r = store->take_lease("", "replica-a", now, now + 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_request);
  auto h = store->take_lease("job x", "", now, now + 1s);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, Errc::bad_request);
}

// Eight "replicas", each with its own store on one database (PostgreSQL; or one SQLite file,
// as several stores of one process would use it), try to take the same free lease at the same
// instant, over many rounds: exactly one wins each round.
TEST_P(Leases, ConcurrentTakersOnOneDatabaseHaveExactlyOneWinner) {
  TempDir dir;
  if (GetParam() == Backend::sqlite) url_ = dir.url("hub.sqlite");
  constexpr int kReplicas = 8;
  constexpr int kRounds = 40;
  std::vector<std::unique_ptr<FakeClock>> clocks;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kReplicas; ++i) {
    clocks.push_back(std::make_unique<FakeClock>(kEpoch));
    stores.push_back(open_migrated(url_, *clocks.back(), {.pool_size = 1}));
  }
  for (int round = 0; round < kRounds; ++round) {
    auto const name = "job round " + std::to_string(round);
    std::atomic<int> winners{0}, errors{0}, ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kReplicas; ++i)
      threads.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < kReplicas) std::this_thread::yield();
        auto r = stores[i]->take_lease(name, "replica-" + std::to_string(i), kEpoch, kEpoch + 15s);
        if (!r) errors.fetch_add(1);
        else if (*r) winners.fetch_add(1);
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0) << "round " << round;
    EXPECT_EQ(winners.load(), 1) << "round " << round;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Leases, kBackends, backend_name);
