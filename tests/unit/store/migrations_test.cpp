#include "store/migrations.hpp"
#include "store/sql_dialect.hpp"
#include "store/store.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace nbhub;
using namespace nbhub::store;
using namespace nbhub::store::testing;

namespace {

std::vector<Migration> builtin_plus(Migration extra) {
  auto builtin = builtin_migrations();
  std::vector<Migration> list(builtin.begin(), builtin.end());
  list.push_back(extra);
  return list;
}

int latest() { return static_cast<int>(builtin_migrations().size()); }

}  // namespace

TEST(Migrations, FromEmptyDatabaseReachLatest) {
  FakeClock clock{kEpoch};
  auto store = must(Store::open("sqlite://", clock));
  EXPECT_EQ(must(store->schema_version()), 0);
  EXPECT_EQ(must(store->migrate()), latest());
  EXPECT_EQ(must(store->schema_version()), latest());
  EXPECT_EQ(store->latest_schema_version(), latest());
  must(store->create_user("alice", false));  // the tables exist
}

TEST(Migrations, RerunIsANoOp) {
  TempDir dir;
  FakeClock clock{kEpoch};
  {
    auto store = open_migrated(dir.url("hub.sqlite"), clock);
    must(store->create_user("alice", false));
    EXPECT_EQ(must(store->migrate()), latest());
  }
  auto store = open_migrated(dir.url("hub.sqlite"), clock);  // a restart migrates again
  EXPECT_EQ(must(store->schema_version()), latest());
  EXPECT_TRUE(must(store->user_exists("alice")));
  EXPECT_EQ(raw_query(dir.path() / "hub.sqlite", "SELECT COUNT(*) FROM schema_version"),
            std::to_string(latest()));
  EXPECT_EQ(raw_query(dir.path() / "hub.sqlite", "SELECT applied_at FROM schema_version"),
            std::to_string(to_db_time(kEpoch)));
}

TEST(Migrations, NextMigrationAppliesToAnExistingDatabase) {
  TempDir dir;
  FakeClock clock{kEpoch};
  must(open_migrated(dir.url("hub.sqlite"), clock)->create_user("alice", true));
  auto list =
      builtin_plus({latest() + 1, "widgets", "CREATE TABLE widgets (id {id_pk}, name TEXT)"});
  auto store = open_migrated(dir.url("hub.sqlite"), clock, {.migrations_for_test = list});
  EXPECT_EQ(must(store->schema_version()), latest() + 1);
  EXPECT_TRUE(must(store->get_user("alice")).admin);
  EXPECT_EQ(raw_query(dir.path() / "hub.sqlite", "SELECT COUNT(*) FROM widgets"), "0");
}

// Migration 2 on a database written by the version-1 binary: the upgrade keeps every
// version-1 row, and the new tables work with (and cascade from) the old users.
TEST(Migrations, Version1DatabaseUpgradesInPlaceKeepingData) {
  TempDir dir;
  FakeClock clock{kEpoch};
  auto file = dir.path() / "hub.sqlite";
  UserRow alice_before;
  {
    auto v1 = open_migrated(dir.url("hub.sqlite"), clock,
                            {.migrations_for_test = builtin_migrations().first(1)});
    ASSERT_EQ(must(v1->schema_version()), 1);
    alice_before = must(v1->upsert_user_on_login({.name = "alice",
                                                  .admin = true,
                                                  .groups = std::vector<std::string>{"physics"},
                                                  .encrypted_auth_state = "sealed"}))
                       .user;
    must(v1->touch_activity("alice", kEpoch + 1s));
    alice_before.last_activity = kEpoch + 1s;
    must(v1->create_session({.id_hash = "h1",
                             .user_id = alice_before.id,
                             .provider = "cognito",
                             .created = kEpoch,
                             .expires = kEpoch + 30 * 24h,
                             .last_seen = kEpoch}));
    must(v1->add_group("chemistry", {{"quota", 5}}));
  }
  EXPECT_EQ(raw_query(file, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'api_tokens'"), "0");

  clock.advance(24h);
  auto store = must(Store::open(dir.url("hub.sqlite"), clock));
  EXPECT_EQ(must(store->schema_version()), 1);
  EXPECT_EQ(must(store->migrate()), latest());
  EXPECT_EQ(raw_query(file, "SELECT description FROM schema_version WHERE version = 2"),
            "API tokens, OAuth clients and codes, servers");
  EXPECT_EQ(raw_query(file, "SELECT applied_at FROM schema_version WHERE version = 2"),
            std::to_string(to_db_time(kEpoch + 24h)));

  EXPECT_EQ(must(store->get_user("alice")), alice_before);
  EXPECT_EQ(must(store->get_session("h1")).provider, "cognito");
  EXPECT_EQ(must(store->get_group("chemistry")).properties, (boost::json::object{{"quota", 5}}));

  auto alice = alice_before.id;
  must(store->upsert_oauth_client({.client_id = "jupyterhub-user-alice",
                                   .secret_hash = hash_of("secret"),
                                   .user_id = alice,
                                   .created = clock.now()}));
  must(store->create_oauth_code({.code_hash = hash_of("code"),
                                 .client_id = "jupyterhub-user-alice",
                                 .user_id = alice,
                                 .created = clock.now(),
                                 .expires = clock.now() + 300s}));
  must(store->create_token({.hash = hash_of("token"),
                            .user_id = alice,
                            .kind = "oauth",
                            .created = clock.now(),
                            .oauth_client_id = "jupyterhub-user-alice"}));
  must(store->upsert_server({.user_id = alice, .name = "", .state = {{"pid", 1}}}));
  must(store->delete_user("alice"));
  for (auto table : {"users", "sessions", "user_group_map", "api_tokens", "oauth_clients",
                     "oauth_codes", "servers"})
    EXPECT_EQ(raw_query(file, std::string("SELECT COUNT(*) FROM ") + table), "0") << table;
  EXPECT_EQ(raw_query(file, "SELECT COUNT(*) FROM pragma_foreign_key_check"), "0");
  EXPECT_EQ(raw_query(file, "PRAGMA integrity_check"), "ok");
}

TEST(Migrations, FailingMigrationRollsBackEntirely) {
  TempDir dir;
  FakeClock clock{kEpoch};
  open_migrated(dir.url("hub.sqlite"), clock);
  // The first statement succeeds, the second fails: neither may remain.
  auto broken = builtin_plus(
      {latest() + 1, "broken", "CREATE TABLE t2 (x INTEGER); CREATE TABLE users (x INTEGER);"});
  auto store = must(Store::open(dir.url("hub.sqlite"), clock, {.migrations_for_test = broken}));
  auto r = store->migrate();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::internal);
  EXPECT_NE(r.error().message.find("store: migration " + std::to_string(latest() + 1) +
                                   " (broken): "),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(must(store->schema_version()), latest());
  EXPECT_EQ(
      raw_query(dir.path() / "hub.sqlite", "SELECT COUNT(*) FROM sqlite_schema WHERE name = 't2'"),
      "0");
}

TEST(Migrations, RefusesToOpenADatabaseNewerThanTheBinary) {
  TempDir dir;
  FakeClock clock{kEpoch};
  auto newer = builtin_plus({latest() + 1, "from the future", "CREATE TABLE future (x INTEGER)"});
  open_migrated(dir.url("hub.sqlite"), clock, {.migrations_for_test = newer});

  auto r = Store::open(dir.url("hub.sqlite"), clock);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_EQ(r.error().message,
            "store: open: database " + (dir.path() / "hub.sqlite").string() +
                " has schema version " + std::to_string(latest() + 1) +
                ", newer than this nbhub understands (" + std::to_string(latest()) +
                "): a newer nbhub has upgraded it. Run that version, or restore the backup "
                "taken before the upgrade");
}

TEST(Migrations, MigrateRefusesWhenAnotherProcessUpgradedMeanwhile) {
  TempDir dir;
  FakeClock clock{kEpoch};
  auto old_binary = open_migrated(dir.url("hub.sqlite"), clock);
  auto newer = builtin_plus({latest() + 1, "from the future", "CREATE TABLE future (x INTEGER)"});
  open_migrated(dir.url("hub.sqlite"), clock, {.migrations_for_test = newer});
  auto r = old_binary->migrate();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_NE(r.error().message.find("newer than this nbhub understands"), std::string::npos);
}

// Rolling upgrades (migrations.hpp, docs/replicas.md): a newer binary's migration that says
// older binaries may keep running lets the older binary open and "migrate" the database.
TEST(Migrations, OlderBinaryRunsOnANewerSchemaThatDeclaresItCompatible) {
  TempDir dir;
  FakeClock clock{kEpoch};
  auto newer = builtin_plus({latest() + 1, "an added table", "CREATE TABLE future (x INTEGER)", latest()});
  auto upgraded = open_migrated(dir.url("hub.sqlite"), clock, {.migrations_for_test = newer});
  must(upgraded->create_user("alice", false));
  EXPECT_EQ(raw_query(dir.path() / "hub.sqlite",
                      "SELECT oldest_reader FROM schema_version WHERE version = " + std::to_string(latest() + 1)),
            std::to_string(latest()));

  auto older = must(Store::open(dir.url("hub.sqlite"), clock));  // the built-in list: one behind
  EXPECT_EQ(must(older->migrate()), latest() + 1);                 // nothing to do, no refusal
  EXPECT_TRUE(must(older->user_exists("alice")));
}

TEST(Migrations, OlderBinaryRefusesWhenAnyNewerMigrationIsIncompatible) {
  TempDir dir;
  FakeClock clock{kEpoch};
  auto newer = builtin_plus({latest() + 1, "an added table", "CREATE TABLE future (x INTEGER)", latest()});
  newer.push_back({latest() + 2, "a breaking change", "CREATE TABLE breaking (x INTEGER)"});  // oldest_reader 0
  open_migrated(dir.url("hub.sqlite"), clock, {.migrations_for_test = newer});
  auto r = Store::open(dir.url("hub.sqlite"), clock);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_NE(r.error().message.find("has schema version " + std::to_string(latest() + 2) + ", newer than this nbhub"),
            std::string::npos)
      << r.error().message;
}

TEST(Migrations, BuiltinMigrationsFromFiveOnRecordTheirOldestReader) {
  TempDir dir;
  FakeClock clock{kEpoch};
  open_migrated(dir.url("hub.sqlite"), clock);
  EXPECT_EQ(raw_query(dir.path() / "hub.sqlite", "SELECT COUNT(*) FROM schema_version WHERE oldest_reader IS NULL"),
            std::to_string(kFirstCompatVersion - 1));
  EXPECT_EQ(raw_query(dir.path() / "hub.sqlite", "SELECT oldest_reader FROM schema_version WHERE version = 5"), "5");
}

TEST(Migrations, RejectsAListWithGaps) {
  FakeClock clock{kEpoch};
  std::vector<Migration> gapped{{1, "one", "CREATE TABLE a (x INTEGER)"},
                                {3, "three", "CREATE TABLE b (x INTEGER)"}};
  auto r = Store::open("sqlite://", clock, {.migrations_for_test = gapped});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::internal);
}

TEST(SqlDialect, RendersTypePlaceholdersAndLeavesOtherBraces) {
  constexpr std::string_view sql =
      "CREATE TABLE t (id {id_pk}, b {blob}, p TEXT DEFAULT '{}', q {other})";
  EXPECT_EQ(kSqliteDialect.render(sql),
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, b BLOB, p TEXT DEFAULT '{}', "
            "q {other})");
  EXPECT_EQ(kPostgresDialect.render(sql),
            "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, b BYTEA, "
            "p TEXT DEFAULT '{}', q {other})");
}

TEST(SqlDialect, TimesRoundTripAtMicrosecondPrecision) {
  auto t = kEpoch + std::chrono::microseconds{123456};
  EXPECT_EQ(from_db_time(to_db_time(t)), t);
  EXPECT_EQ(from_db_time(to_db_time(t + std::chrono::nanoseconds{999})), t);
  auto before_1970 = Clock::SysTime{} - std::chrono::microseconds{1};
  EXPECT_EQ(from_db_time(to_db_time(before_1970)), before_1970);
}
