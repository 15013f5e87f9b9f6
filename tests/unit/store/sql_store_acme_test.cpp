#include "store/store.hpp"
#include "backends.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

using namespace nbhub;
using namespace nbhub::store;
using namespace nbhub::store::testing;
using namespace std::chrono_literals;

namespace {

class Acme : public BackendTest {
 protected:
  FakeClock clock{kEpoch};
  std::unique_ptr<Store> store = open_backend(clock);
  static constexpr std::string_view kLease = "certificate hub.example.org";
};

}  // namespace

TEST_P(Acme, RecordsAreAbsentThenInsertedThenReplaced) {
  EXPECT_FALSE(must(store->get_acme_record("account https://ca/dir")).has_value());
  must(store->put_acme_record("account https://ca/dir", "c2VhbGVk", clock.now()));
  auto first = must(store->get_acme_record("account https://ca/dir"));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->sealed, "c2VhbGVk");
  EXPECT_EQ(first->updated, clock.now());

  clock.advance(90s);
  must(store->put_acme_record("account https://ca/dir", "bmV3", clock.now()));
  auto second = must(store->get_acme_record("account https://ca/dir"));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->sealed, "bmV3");
  EXPECT_EQ(second->updated, clock.now());
  EXPECT_FALSE(must(store->get_acme_record("account https://other/dir")).has_value());
  EXPECT_TRUE(must(store->delete_acme_record("account https://ca/dir")));
  EXPECT_FALSE(must(store->delete_acme_record("account https://ca/dir")));
  EXPECT_FALSE(must(store->get_acme_record("account https://ca/dir")).has_value());
}

TEST_P(Acme, OneHolderAtATimeUntilTheLeaseRunsOutOrIsReleased) {
  auto const now = clock.now();
  EXPECT_TRUE(must(store->take_acme_lease(kLease, "hub-a", now, now + 600s)));
  EXPECT_FALSE(must(store->take_acme_lease(kLease, "hub-b", now, now + 600s)));
  // The holder extends its own lease.
  EXPECT_TRUE(must(store->take_acme_lease(kLease, "hub-a", now + 300s, now + 900s)));
  EXPECT_FALSE(must(store->take_acme_lease(kLease, "hub-b", now + 800s, now + 1400s)));
  // A holder that died: its lease runs out and another takes it over.
  EXPECT_TRUE(must(store->take_acme_lease(kLease, "hub-b", now + 900s, now + 1500s)));
  EXPECT_FALSE(must(store->take_acme_lease(kLease, "hub-a", now + 901s, now + 1500s)));
  // Releasing by a non-holder changes nothing; by the holder frees it at once.
  must(store->release_acme_lease(kLease, "hub-a"));
  EXPECT_FALSE(must(store->take_acme_lease(kLease, "hub-c", now + 902s, now + 1500s)));
  must(store->release_acme_lease(kLease, "hub-b"));
  EXPECT_TRUE(must(store->take_acme_lease(kLease, "hub-c", now + 903s, now + 1500s)));
  // Leases are per name.
  EXPECT_TRUE(must(store->take_acme_lease("certificate other", "hub-a", now, now + 600s)));
}

TEST_P(Acme, TwoStoresOnOneDatabaseAgreeOnTheHolder) {
  if (GetParam() == Backend::sqlite) GTEST_SKIP() << "an in-memory SQLite database is private";
  FakeClock clock2{kEpoch};
  auto other = open_migrated(url_, clock2, {});
  auto const now = clock.now();
  EXPECT_TRUE(must(store->take_acme_lease(kLease, "hub-a", now, now + 600s)));
  EXPECT_FALSE(must(other->take_acme_lease(kLease, "hub-b", now, now + 600s)));
  must(store->put_acme_record("certificate x", "dmFsdWU=", now));
  EXPECT_EQ(must(other->get_acme_record("certificate x"))->sealed, "dmFsdWU=");
}

INSTANTIATE_TEST_SUITE_P(Backends, Acme, kBackends, backend_name);
