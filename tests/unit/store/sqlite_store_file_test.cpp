// The SQLite store on a real file: modes, WAL, reopening, concurrency, other processes.
#include "store/store.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>

using namespace nbhub;
using namespace nbhub::store;
using namespace nbhub::store::testing;

namespace {

unsigned mode_of(std::filesystem::path const& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

}  // namespace

TEST(SqliteFile, CreatesMissingDirectoriesAndAPrivateFile) {
  TempDir dir;
  FakeClock clock{kEpoch};
  auto store = open_migrated(dir.url("data/hub/nbhub.sqlite"), clock);
  must(store->create_user("alice", false));
  EXPECT_EQ(mode_of(dir.path() / "data"), 0700u);
  EXPECT_EQ(mode_of(dir.path() / "data/hub"), 0700u);
  EXPECT_EQ(mode_of(dir.path() / "data/hub/nbhub.sqlite"), 0600u);
  // SQLite gives the WAL the database's mode; it holds recent rows too.
  EXPECT_EQ(mode_of(dir.path() / "data/hub/nbhub.sqlite-wal"), 0600u);
}

TEST(SqliteFile, UsesWriteAheadLoggingAndKeepsDataAcrossReopen) {
  TempDir dir;
  FakeClock clock{kEpoch};
  {
    auto store = open_migrated(dir.url("hub.sqlite"), clock);
    must(store->upsert_user_on_login(
        {.name = "alice", .admin = true, .groups = std::vector<std::string>{"g"}}));
  }
  EXPECT_EQ(raw_query(dir.path() / "hub.sqlite", "PRAGMA journal_mode"), "wal");
  auto store = open_migrated(dir.url("hub.sqlite"), clock);
  auto alice = must(store->get_user("alice"));
  EXPECT_TRUE(alice.admin);
  EXPECT_EQ(alice.groups, std::vector<std::string>{"g"});
}

TEST(SqliteFile, AFileThatIsNotADatabaseIsReportedForTheOperator) {
  TempDir dir;
  FakeClock clock{kEpoch};
  std::ofstream(dir.path() / "hub.sqlite") << std::string(4096, 'x');
  auto r = Store::open(dir.url("hub.sqlite"), clock);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("is corrupt or not an SQLite database"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("restore the file from a backup"), std::string::npos);
}

TEST(SqliteFile, LockedByAnotherProcessPastTheBusyTimeoutIsUnavailable) {
  TempDir dir;
  FakeClock clock{kEpoch};
  auto path = dir.path() / "hub.sqlite";
  auto store = open_migrated(dir.url("hub.sqlite"), clock, {.busy_timeout = 100ms});
  // A second connection stands in for a second nbhub holding the write lock.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  auto r = store->create_user("alice", false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_EQ(r.error().message,
            "store: create_user: database " + path.string() +
                " is locked by another process for more than 0.1 s: is a second nbhub running "
                "on the same file?");
  // Readers are not blocked by a writer in WAL mode.
  EXPECT_EQ(must(store->count_users()), 0);

  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  must(store->create_user("alice", false));  // and the store recovers
}

// Smoke test of the thread-safety contract: writers and readers from several threads at
// once, on a file (writer + reader pool) and in memory (one connection). Bounded: 8 threads
// of 25 logins each.
class ThreadSafety : public ::testing::TestWithParam<bool> {};

TEST_P(ThreadSafety, ConcurrentLoginsAndReadsAllSucceed) {
  TempDir dir;
  FakeClock clock{kEpoch};
  bool on_file = GetParam();
  auto store = open_migrated(on_file ? dir.url("hub.sqlite") : "sqlite://", clock);
  constexpr int kThreads = 8, kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto name = "u" + std::to_string(t) + "-" + std::to_string(i);
        std::vector<std::string> groups{"all", "team" + std::to_string(t)};
        if (!store->upsert_user_on_login({.name = name, .groups = groups})) ++failures;
        if (!store->get_user(name)) ++failures;
        if (!store->list_users(0, 20)) ++failures;
        if (!store->touch_activity(name, kEpoch + std::chrono::seconds{i})) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(must(store->count_users()), kThreads * kPerThread);
  EXPECT_EQ(must(store->get_group("all")).members.size(), std::size_t{kThreads * kPerThread});
}

INSTANTIATE_TEST_SUITE_P(Store, ThreadSafety, ::testing::Values(true, false),
                         [](auto const& info) { return info.param ? "OnFile" : "InMemory"; });
