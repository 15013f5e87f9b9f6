// kill -9 durability: every login the store acknowledged must survive the process dying at an
// arbitrary point, and the file must stay intact.
#include "store/store.hpp"
#include "store_fixture.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace nbhub;
using namespace nbhub::store;
using namespace nbhub::store::testing;

namespace {

// The child: open the database, log users in one by one, and after each acknowledged commit
// report the name on the pipe. Runs until killed (or a generous cap). No gtest in here: it is
// a forked copy of the test process and leaves with _exit.
[[noreturn]] void child_main(std::string const& url, int out_fd) {
  ::signal(SIGPIPE, SIG_IGN);  // the parent stopped reading: write() fails, we exit
  SystemClock clock;
  auto store = Store::open(url, clock);
  if (!store) ::_exit(2);
  for (int i = 0; i < 100000; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "user%06d", i);
    auto r =
        (*store)->upsert_user_on_login({.name = name, .groups = std::vector<std::string>{"g"}});
    if (!r) ::_exit(3);
    std::string line = std::string(name) + "\n";
    if (::write(out_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(0);
  }
  ::_exit(0);
}

// Reads lines from `fd` until `want` lines arrived, EOF, or the deadline.
void read_lines(int fd, std::vector<std::string>& lines, std::string& partial, std::size_t want,
                std::chrono::steady_clock::time_point deadline) {
  char buf[4096];
  while (lines.size() < want) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return;
    partial.append(buf, static_cast<std::size_t>(n));
    for (std::size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
      lines.push_back(partial.substr(0, nl));
      partial.erase(0, nl + 1);
    }
  }
}

}  // namespace

TEST(Durability, EveryCommitReportedBeforeSigkillSurvives) {
  TempDir dir;
  auto url = dir.url("hub.sqlite");
  {
    // Migrated by the parent, then closed: no SQLite connection may cross the fork.
    FakeClock clock{kEpoch};
    open_migrated(url, clock);
  }
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    child_main(url, fds[1]);
  }
  ::close(fds[1]);

  std::vector<std::string> committed;
  std::string partial;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  read_lines(fds[0], committed, partial, 200, deadline);
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  // Names written between our last read and the kill were acknowledged too: collect them.
  read_lines(fds[0], committed, partial, SIZE_MAX, std::chrono::steady_clock::now() + 5s);
  ::close(fds[0]);

  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child ended on its own (exit code " << WEXITSTATUS(status) << ") after "
      << committed.size() << " commits";
  ASSERT_GE(committed.size(), 200u) << "the child committed too slowly";

  EXPECT_EQ(raw_query(dir.path() / "hub.sqlite", "PRAGMA integrity_check"), "ok");
  FakeClock clock{kEpoch};
  auto store = open_migrated(url, clock);
  std::size_t missing = 0;
  for (auto const& name : committed) {
    auto user = store->get_user(name);
    if (!user || user->groups != std::vector<std::string>{"g"}) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "of " << committed.size() << " acknowledged logins";
  // The one in flight at the kill may or may not have landed; nothing else may exist.
  EXPECT_LE(must(store->count_users()), static_cast<std::int64_t>(committed.size()) + 1);
  EXPECT_EQ(raw_query(dir.path() / "hub.sqlite", "PRAGMA integrity_check"), "ok");
}
