// One nbhub per SQLite file (store/process_lock.hpp). flock(2) locks belong to open file
// descriptions, so a second lock in this same process conflicts exactly as another process's
// would; tests/integration/test_replicas.py checks the message of a second nbhub process.
#include "store/process_lock.hpp"
#include "store_fixture.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

using namespace nbhub;
using namespace nbhub::store;
using namespace nbhub::store::testing;

TEST(ProcessLock, SecondHolderOfOneSqliteFileIsRefusedWithWhy) {
  TempDir dir;
  auto const url = dir.url("hub.sqlite");
  auto first = must(ProcessLock::for_database(url));
  EXPECT_TRUE(first.held());
  EXPECT_EQ(first.path(), (dir.path() / "hub.sqlite.lock").string());

  auto second = ProcessLock::for_database(url);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::unavailable);
  auto const& msg = second.error().message;
  EXPECT_NE(msg.find("the SQLite database " + (dir.path() / "hub.sqlite").string() + " is in use by another nbhub (pid " +
                     std::to_string(::getpid()) + ")"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("use PostgreSQL"), std::string::npos) << msg;

  // Another file is another database.
  EXPECT_TRUE(must(ProcessLock::for_database(dir.url("other.sqlite"))).held());
  // Released with its holder (as when the process exits, kill -9 included).
  first = ProcessLock{};
  EXPECT_TRUE(must(ProcessLock::for_database(url)).held());
}

TEST(ProcessLock, PostgresAndMemoryDatabasesTakeNoLock) {
  EXPECT_FALSE(must(ProcessLock::for_database("sqlite://")).held());
  EXPECT_FALSE(must(ProcessLock::for_database("postgresql://nbhub@db.example.org/nbhub")).held());
  auto bad = ProcessLock::for_database("mysql://x");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::config);
}

TEST(ProcessLock, LockFileIsPrivateAndNamesTheHolder) {
  TempDir dir;
  auto lock = must(ProcessLock::for_database(dir.url("hub.sqlite")));
  struct stat st {};
  ASSERT_EQ(::stat(lock.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  int fd = ::open(lock.path().c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[32] = {};
  auto n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), std::to_string(::getpid()) + "\n");
}
