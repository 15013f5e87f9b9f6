// PostgreSQL-only behaviour of the store: what the shared suite (run on both back ends)
// cannot show. Pool bounds, reconnection after a server restart, concurrent migration and
// code consumption from two stores (as two nbhub replicas would), and that no message ever
// repeats the password of db_url.
#include "backends.hpp"
#include "store/migrations.hpp"
#include "store/postgres_connection.hpp"
#include "store/store.hpp"
#include "store/store_copy.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

using namespace nbhub;
using namespace nbhub::store;
using namespace nbhub::store::testing;

namespace {

class Postgres : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PgRig::shared().available())
      GTEST_SKIP() << "PostgreSQL unavailable: " << PgRig::shared().reason();
    url = PgRig::shared().fresh_database_url();
  }
  FakeClock clock{kEpoch};
  std::string url;
};

// Connections the server holds for `db` from nbhub's pool (application_name = nbhub).
int server_connections(std::string const& url) {
  auto db = url.substr(url.find("@/") + 2);
  db = db.substr(0, db.find('?'));
  // Through the store's own connection class (libpq is dlopened; the test does not link it).
  // It connects to `postgres`, so it never counts itself.
  auto c = PgConnection::open({PgRig::shared().url("postgres"), "the test server", std::chrono::seconds{5}});
  if (!c) return -1;
  auto st = (*c)->prepare("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = ? AND application_name = 'nbhub'");
  if (!st) return -1;
  st->bind(1, std::string_view(db));
  auto row = st->step();
  int n = row && *row ? static_cast<int>(st->int64(0)) : -1;
  return n;
}

}  // namespace

TEST(PostgresUrl, RedactsThePasswordFromUserinfoAndQuery) {
  EXPECT_EQ(redact_postgres_url("postgresql://hub:hunter2@db.example.org:5432/hub"),
            "postgresql://hub@db.example.org:5432/hub");
  EXPECT_EQ(redact_postgres_url("postgresql://hub@db/hub?password=hunter2&sslmode=require"),
            "postgresql://hub@db/hub?sslmode=require");
  EXPECT_EQ(redact_postgres_url("postgresql:///hub?host=/run/postgresql"),
            "postgresql:///hub?host=/run/postgresql");
  EXPECT_EQ(redact_postgres_url("postgresql://hub:p%40ss@db/hub"), "postgresql://hub@db/hub");
}

TEST(PostgresUrl, PlaceholdersAreRenumberedOutsideQuotesOnly) {
  int n = 0;
  EXPECT_EQ(renumber_placeholders("SELECT '?', ? FROM t WHERE a = ? AND b = \"?\"", n),
            "SELECT '?', $1 FROM t WHERE a = $2 AND b = \"?\"");
  EXPECT_EQ(n, 2);
}

TEST_F(Postgres, AnUnreachableServerIsUnavailableAndTheMessageHidesThePassword) {
  auto bad = "postgresql://nbhub:hunter2@/nope?host=" + PgRig::shared().socket_dir() +
             "/missing&port=1";
  auto r = Store::open(bad, clock, {.busy_timeout = std::chrono::milliseconds{1000}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("cannot connect to PostgreSQL at postgresql://nbhub@/nope"),
            std::string::npos)
      << r.error().message;
}

TEST_F(Postgres, AMissingDatabaseIsNamedInTheError) {
  auto r = Store::open(PgRig::shared().url("no_such_db"), clock);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("no_such_db"), std::string::npos) << r.error().message;
}

TEST_F(Postgres, ThePoolNeverOpensMoreConnectionsThanConfigured) {
  auto store = open_migrated(url, clock, {.pool_size = 2});
  constexpr int kThreads = 8, kPerThread = 15;
  std::atomic<int> failures{0};
  std::atomic<int> peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto name = "u" + std::to_string(t) + "_" + std::to_string(i);
        if (!store->upsert_user_on_login({.name = name, .groups = std::vector<std::string>{"g"}}))
          ++failures;
        if (!store->get_user(name)) ++failures;
        if (i % 5 == 0) peak = std::max(peak.load(), server_connections(url));
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(must(store->count_users()), kThreads * kPerThread);
  EXPECT_LE(peak.load(), 2);
  EXPECT_GE(peak.load(), 1);
  EXPECT_EQ(must(store->get_group("g")).members.size(), std::size_t{kThreads * kPerThread});
}

TEST_F(Postgres, TwoStoresMigrateAtOnceAndBothReachTheLatestVersion) {
  auto a = must(Store::open(url, clock));
  auto b = must(Store::open(url, clock));
  std::latch start(2);
  Result<int> ra = 0, rb = 0;
  std::thread ta([&] { start.arrive_and_wait(); ra = a->migrate(); });
  std::thread tb([&] { start.arrive_and_wait(); rb = b->migrate(); });
  ta.join();
  tb.join();
  ASSERT_TRUE(ra) << ra.error().message;
  ASSERT_TRUE(rb) << rb.error().message;
  EXPECT_EQ(*ra, a->latest_schema_version());
  EXPECT_EQ(*rb, a->latest_schema_version());
  EXPECT_EQ(must(a->migrate()), a->latest_schema_version());  // re-running is a no-op
}

TEST_F(Postgres, RefusesADatabaseNewerThanTheBinary) {
  std::vector<Migration> newer(builtin_migrations().begin(), builtin_migrations().end());
  int latest = static_cast<int>(newer.size());
  newer.push_back({latest + 1, "from the future", "CREATE TABLE future (x INTEGER)"});
  open_migrated(url, clock, {.migrations_for_test = newer});
  auto r = Store::open(url, clock);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_NE(r.error().message.find("newer than this nbhub understands"), std::string::npos);
}

TEST_F(Postgres, AFailingMigrationRollsBackEntirely) {
  std::vector<Migration> broken(builtin_migrations().begin(), builtin_migrations().end());
  int latest = static_cast<int>(broken.size());
  broken.push_back({latest + 1, "half done", "CREATE TABLE half (x INTEGER); SELECT nope FROM nowhere"});
  auto store = must(Store::open(url, clock, {.migrations_for_test = broken}));
  auto r = store->migrate();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("migration " + std::to_string(latest + 1)), std::string::npos);
  EXPECT_EQ(must(store->schema_version()), latest);
  EXPECT_NE(PgRig::shared().admin_sql("SELECT 1"), "x");  // the server is fine
}

// Two stores on one database stand for two hub replicas: each code is redeemed once.
TEST_F(Postgres, ExactlyOneConsumerWinsAcrossTwoStores) {
  auto first = open_migrated(url, clock);
  auto second = open_migrated(url, clock);
  auto alice = must(first->create_user("alice", false)).id;
  must(first->upsert_oauth_client({.client_id = "c",
                                   .description = "d",
                                   .redirect_uri = "/cb",
                                   .secret_hash = hash_of("s"),
                                   .user_id = alice,
                                   .created = clock.now()}));
  constexpr int kCodes = 10, kThreads = 6;
  std::atomic<int> errors{0};
  for (int i = 0; i < kCodes; ++i) {
    auto hash = hash_of("race-" + std::to_string(i));
    must(first->create_oauth_code({.code_hash = hash,
                                   .client_id = "c",
                                   .user_id = alice,
                                   .redirect_uri = "/cb",
                                   .session_id_hash = hash_of("session"),
                                   .created = clock.now(),
                                   .expires = clock.now() + 300s}));
    std::atomic<int> wins{0};
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        auto r = (t % 2 ? second : first)->consume_oauth_code(hash);
        if (r)
          ++wins;
        else if (r.error().code != Errc::not_found)
          ++errors;
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(wins.load(), 1) << "code " << i;
  }
  EXPECT_EQ(errors.load(), 0);
}

// The server restarts while writers run: requests fail cleanly (unavailable) during the
// outage, the store reconnects by itself afterwards, and every write it acknowledged is there.
TEST_F(Postgres, SurvivesAServerRestartUnderLoadWithoutLosingCommittedWrites) {
  auto store = open_migrated(url, clock, {.busy_timeout = std::chrono::milliseconds{2000},
                                          .pool_size = 3});
  std::atomic<bool> stop{false};
  std::atomic<int> unexpected{0}, failed{0};
  std::mutex mu;
  std::set<std::string> acknowledged;
  std::string last_unexpected;
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        auto name = "w" + std::to_string(t) + "_" + std::to_string(i);
        auto r = store->create_user(name, false);
        std::lock_guard lock(mu);
        if (r) {
          acknowledged.insert(name);
        } else if (r.error().code == Errc::unavailable) {
          ++failed;
        } else if (r.error().code == Errc::conflict) {
          // Committed, but the acknowledgement was lost with the connection: a retry would
          // see it. Not a loss.
        } else {
          ++unexpected;
          last_unexpected = r.error().message;
        }
      }
    });
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(PgRig::shared().restart(300ms)) << PgRig::shared().reason();
  std::this_thread::sleep_for(500ms);
  stop = true;
  for (auto& th : writers) th.join();

  EXPECT_EQ(unexpected.load(), 0) << last_unexpected;
  EXPECT_GT(failed.load(), 0) << "the outage should have failed some requests";
  // Recovered: new requests succeed without reopening the store.
  must(store->create_user("after-restart", false));
  for (auto const& name : acknowledged) EXPECT_TRUE(must(store->user_exists(name))) << name;
  std::cout << "acknowledged " << acknowledged.size() << " writes, " << failed.load()
            << " failed cleanly during the restart\n";
}

// `nbhub db copy`: every table arrives, ids are kept, and ids deleted in SQLite are not
// handed out again by PostgreSQL.
TEST_F(Postgres, CopiesASqliteDatabaseWithEveryRowAndKeepsIdsUnique) {
  TempDir dir;
  auto sqlite_url = dir.url("hub.sqlite");
  {
    auto src = open_migrated(sqlite_url, clock);
    auto alice = must(src->upsert_user_on_login(
        {.name = "alice", .admin = true, .groups = std::vector<std::string>{"physics"},
         .encrypted_auth_state = std::string("\x00\x01\xffsecret", 9)}));
    must(src->create_user("gone", false));
    must(src->delete_user("gone"));
    must(src->create_session({.id_hash = hash_of("s"), .user_id = alice.user.id, .provider = "idp",
                              .created = clock.now(), .expires = clock.now() + 1h,
                              .last_seen = clock.now()}));
    must(src->create_token({.prefix = "abcd", .hash = hash_of("t"), .user_id = alice.user.id,
                            .kind = "api", .scopes = {"read:users"}, .note = "n",
                            .created = clock.now()}));
    must(src->upsert_server({.user_id = alice.user.id, .name = "", .url = "http://127.0.0.1:1",
                             .state = {{"pid", 1}}, .started = clock.now()}));
    must(src->create_named_server({.user_id = alice.user.id, .name = "gpu-1", .display_name = "GPU ✓",
                                   .user_options = {{"size", "xl"}}}));
    must(src->save_server_choices({.user_id = alice.user.id, .name = "", .display_name = "Mine",
                                   .user_options = {{"profile", "gpu"}}}));
  }
  auto report = copy_sqlite_to_postgres(sqlite_url, url, clock);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->rows.at("users"), 1);
  EXPECT_EQ(report->rows.at("user_group_map"), 1);
  EXPECT_EQ(report->rows.at("api_tokens"), 1);

  auto dst = must(Store::open(url, clock));
  auto alice = must(dst->get_user("alice"));
  EXPECT_TRUE(alice.admin);
  EXPECT_EQ(alice.groups, std::vector<std::string>{"physics"});
  EXPECT_EQ(alice.encrypted_auth_state, std::string("\x00\x01\xffsecret", 9));
  EXPECT_EQ(must(dst->get_session(hash_of("s"))).user_id, alice.id);
  EXPECT_EQ(must(dst->find_token(hash_of("t"))).scopes, std::vector<std::string>{"read:users"});
  EXPECT_EQ(must(dst->get_server(alice.id, "")).state.at("pid"), 1);
  EXPECT_EQ(report->rows.at("named_servers"), 1);
  auto gpu = must(dst->get_named_server(alice.id, "gpu-1"));
  ASSERT_TRUE(gpu);
  EXPECT_EQ(gpu->display_name, "GPU ✓");
  EXPECT_EQ(gpu->user_options.at("size"), "xl");
  EXPECT_EQ(report->rows.at("server_choices"), 1);
  auto choices = must(dst->get_server_choices(alice.id, ""));
  ASSERT_TRUE(choices);
  EXPECT_EQ(choices->display_name, "Mine");
  EXPECT_EQ(choices->user_options.at("profile"), "gpu");
  auto next = must(dst->create_user("new", false));
  EXPECT_GT(next.id, alice.id + 1);  // "gone" had alice.id + 1

  auto again = copy_sqlite_to_postgres(sqlite_url, url, clock);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::conflict);
}
