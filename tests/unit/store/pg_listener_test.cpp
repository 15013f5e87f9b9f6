// PgListener (store/pg_listener.hpp) against the private PostgreSQL of pg_rig.hpp: a NOTIFY
// reaches the callback quickly, and after a server restart the listener reconnects by itself,
// runs the full resync again, and hears later notifications.
#include "store/pg_listener.hpp"
#include "store/postgres_connection.hpp"
#include "pg_rig.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

using namespace nbhub;
using namespace nbhub::store;
using namespace nbhub::store::testing;
using namespace std::chrono_literals;

namespace {

class PgListen : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PgRig::shared().available()) GTEST_SKIP() << "PostgreSQL unavailable: " << PgRig::shared().reason();
    url = PgRig::shared().fresh_database_url();
  }

  struct Heard {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::pair<std::string, std::string>> notes;
    int resyncs = 0;
    template <class Pred>
    bool wait(Pred pred, std::chrono::milliseconds limit) {
      std::unique_lock lock(m);
      return cv.wait_for(lock, limit, pred);
    }
  };

  std::unique_ptr<PgListener> listen(Heard& h, PgListener::Options extra = {}) {
    extra.url = url;
    extra.channels = {"nbhub_servers", "nbhub_other"};
    return must(PgListener::start(
        extra,
        [&h](std::string_view ch, std::string_view payload) {
          std::lock_guard lock(h.m);
          h.notes.emplace_back(ch, payload);
          h.cv.notify_all();
        },
        [&h] {
          std::lock_guard lock(h.m);
          ++h.resyncs;
          h.cv.notify_all();
        }));
  }

  void notify(std::string const& sql) {
    auto c = must(PgConnection::open({url, "test", 5000ms}));
    must(c->exec(sql));
  }

  std::string url;
};

}  // namespace

TEST_F(PgListen, NotificationReachesTheCallbackWithin100Milliseconds) {
  Heard h;
  auto l = listen(h);
  ASSERT_TRUE(h.wait([&] { return h.resyncs == 1; }, 10s)) << "never connected";
  EXPECT_TRUE(l->connected());
  // Sent from another connection, committed: as a replica's server transition would be.
  auto sender = must(PgConnection::open({url, "test", 5000ms}));
  auto const t0 = std::chrono::steady_clock::now();
  must(sender->exec("NOTIFY nbhub_servers, '42 7'"));
  ASSERT_TRUE(h.wait([&] { return !h.notes.empty(); }, 5s));
  auto const took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 100ms) << std::chrono::duration_cast<std::chrono::microseconds>(took).count() << " us";
  EXPECT_EQ(h.notes[0], (std::pair<std::string, std::string>{"nbhub_servers", "42 7"}));
  // Inside a transaction, nothing is heard before COMMIT; a channel nobody listens to is not heard.
  must(sender->exec("BEGIN; NOTIFY nbhub_other, 'late'; NOTIFY unheard, 'x'"));
  EXPECT_FALSE(h.wait([&] { return h.notes.size() > 1; }, 300ms));
  must(sender->exec("COMMIT"));
  ASSERT_TRUE(h.wait([&] { return h.notes.size() == 2; }, 5s));
  EXPECT_EQ(h.notes[1], (std::pair<std::string, std::string>{"nbhub_other", "late"}));
  EXPECT_EQ(l->notifications(), 2u);
}

TEST_F(PgListen, ReconnectsAfterAServerRestartAndResyncsInFull) {
  Heard h;
  auto l = listen(h, {.retry_min = 50ms, .retry_max = 500ms, .ping_every = 500ms});
  ASSERT_TRUE(h.wait([&] { return h.resyncs == 1; }, 10s));
  ASSERT_TRUE(PgRig::shared().restart(500ms)) << PgRig::shared().reason();
  ASSERT_TRUE(h.wait([&] { return h.resyncs == 2; }, 15s)) << "did not reconnect";
  EXPECT_EQ(l->connections(), 2u);
  EXPECT_TRUE(l->connected());
  notify("NOTIFY nbhub_servers, 'after restart'");
  ASSERT_TRUE(h.wait([&] { return !h.notes.empty(); }, 5s));
  EXPECT_EQ(h.notes.back().second, "after restart");
}

// Store::notify is what replicas call after a server transition; SQLite's is a no-op.
TEST_F(PgListen, StoreNotifyReachesTheListenerAndIsANoOpOnSqlite) {
  Heard h;
  auto l = listen(h);
  ASSERT_TRUE(h.wait([&] { return h.resyncs == 1; }, 10s));
  FakeClock clock{kEpoch};
  auto store = open_migrated(url, clock);
  must(store->notify("nbhub_servers", "replica-a"));
  ASSERT_TRUE(h.wait([&] { return !h.notes.empty(); }, 5s));
  EXPECT_EQ(h.notes[0], (std::pair<std::string, std::string>{"nbhub_servers", "replica-a"}));
  auto sqlite = open_migrated("sqlite://", clock);
  must(sqlite->notify("nbhub_servers", "replica-a"));
}

TEST_F(PgListen, RefusesAChannelThatIsNotAPlainIdentifier) {
  auto r = PgListener::start({.url = url, .channels = {"x; DROP TABLE users"}}, {}, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_request);
}
