// SpawnQueue: the FIFO behind concurrent_spawn_limit, active_server_limit, start_timeout, and
// stopping servers that never answered. A FakeSpawner provides slow starts; readiness runs
// against real loopback servers.
#include <boost/asio/co_spawn.hpp>

#include "spawn/spawn_queue.hpp"
#include "unit/spawn/fake_spawner.hpp"
#include "unit/spawn/spawn_fixture.hpp"

namespace nbhub::spawn::test {
namespace {

http::test::Reply redirect_to_tree(http::test::SeenRequest const&) {
  return {http::test::http_response("", 302,
                                    "Location: /user/x/tree\r\nX-JupyterHub-Version: 3.0.0\r\n")};
}

class SpawnQueueTest : public SpawnFixture {
 public:
  // A named coroutine, not a capturing lambda: a lambda's captures die with the lambda object.
  net::awaitable<void> spawn_one(SpawnQueue& queue, int i, RecordingSink& sink,
                                 std::vector<int>& finished) {
    auto r = co_await queue.spawn(request("u" + std::to_string(i)), sink);
    EXPECT_TRUE(r) << r.error().message;
    if (r) {
      EXPECT_EQ(r->ready.status, 302u);
      EXPECT_EQ(r->ready.jupyterhub_version, "3.0.0");
    }
    finished.push_back(i);
  }


 protected:
  SpawnQueueTest() : server_(redirect_to_tree), client_(ioc_, http_cfg_, log_) {
    fake_.url = server_.url("");
  }
  config::HttpClientConfig http_cfg_;
  http::test::TestServer server_;
  http::BeastHttpClient client_;
  FakeSpawner fake_;
  std::size_t running_ = 0;
};

TEST_F(SpawnQueueTest, SpawnsBeyondTheLimitWaitInOrderAndAllComplete) {
  cfg_.concurrent_spawn_limit = 2;
  fake_.start_delay = 100ms;
  SpawnQueue queue(cfg_, fake_, client_, clock_, log_, [this] { return running_; });

  constexpr int kSpawns = 5;
  RecordingSink sinks[kSpawns];
  std::vector<int> finished;
  std::size_t max_spawning = 0;
  for (int i = 0; i < kSpawns; ++i)
    net::co_spawn(ioc_, spawn_one(queue, i, sinks[i], finished),
                  [](std::exception_ptr e) { EXPECT_FALSE(e); });
  auto until = std::chrono::steady_clock::now() + 10s;
  while (finished.size() < kSpawns && std::chrono::steady_clock::now() < until) {
    ioc_.run_one_for(50ms);
    max_spawning = std::max(max_spawning, queue.spawning());
  }
  ASSERT_EQ(finished.size(), static_cast<std::size_t>(kSpawns));
  EXPECT_EQ(fake_.max_concurrent, 2);
  EXPECT_LE(max_spawning, 2u);
  EXPECT_EQ(fake_.started_users,
            (std::vector<std::string>{"u0", "u1", "u2", "u3", "u4"}));  // FIFO
  EXPECT_FALSE(sinks[0].saw("ahead of you"));
  EXPECT_TRUE(sinks[2].saw("Waiting for 2 spawns ahead of you"));
  EXPECT_TRUE(sinks[4].saw("Waiting for 4 spawns ahead of you"));
  EXPECT_TRUE(sinks[4].saw("Waiting for 2 spawns ahead of you"));  // first in line
  // Positions only go down; moves made at the same instant may arrive as one update.
  std::vector<std::string> waits;
  for (auto const& e : sinks[4].events)
    if (e.message.ends_with("ahead of you")) waits.push_back(e.message);
  EXPECT_TRUE(std::is_sorted(waits.rbegin(), waits.rend())) << ::testing::PrintToString(waits);
  EXPECT_TRUE(sinks[4].started_with.has_value());
  EXPECT_EQ(queue.spawning(), 0u);
  EXPECT_EQ(queue.queued(), 0u);
}

// The spawner's own limit (LocalSpawner: twice the cores) queues spawns below
// concurrent_spawn_limit, and also when concurrent_spawn_limit is 0 (none).
TEST_F(SpawnQueueTest, SpawnersOwnStartLimitQueuesToo) {
  for (std::size_t hub_limit : {std::size_t{100}, std::size_t{0}}) {
    cfg_.concurrent_spawn_limit = hub_limit;
    fake_.own_start_limit = 2;
    fake_.start_delay = 50ms;
    fake_.max_concurrent = 0;
    SpawnQueue queue(cfg_, fake_, client_, clock_, log_, [this] { return running_; });
    constexpr int kSpawns = 4;
    RecordingSink sinks[kSpawns];
    std::vector<int> finished;
    for (int i = 0; i < kSpawns; ++i)
      net::co_spawn(ioc_, spawn_one(queue, i, sinks[i], finished),
                    [](std::exception_ptr e) { EXPECT_FALSE(e); });
    auto until = std::chrono::steady_clock::now() + 10s;
    while (finished.size() < kSpawns && std::chrono::steady_clock::now() < until) ioc_.run_one_for(50ms);
    ASSERT_EQ(finished.size(), static_cast<std::size_t>(kSpawns)) << "hub limit " << hub_limit;
    EXPECT_EQ(fake_.max_concurrent, 2) << "hub limit " << hub_limit;
    EXPECT_TRUE(sinks[3].saw("Waiting for 3 spawns ahead of you"));
  }
}

TEST_F(SpawnQueueTest, LocalSpawnerStartsTwiceTheCoresAtOnceUnlessConfigured) {
  EXPECT_EQ(make_spawner().start_limit(), 2 * std::max(1u, std::thread::hardware_concurrency()));
  cfg_.local_start_limit = 7;
  EXPECT_EQ(make_spawner().start_limit(), 7u);
}

TEST_F(SpawnQueueTest, RefusesBeyondActiveServerLimit) {
  cfg_.active_server_limit = 3;
  running_ = 3;
  SpawnQueue queue(cfg_, fake_, client_, clock_, log_, [this] { return running_; });
  EXPECT_TRUE(queue.at_active_limit());
  auto r = run_sync(ioc_, queue.spawn(request(), sink_));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_EQ(r.error().message, "the hub is at its limit of 3 running servers; try again later");
  EXPECT_EQ(fake_.starts, 0);
  running_ = 2;
  EXPECT_FALSE(queue.at_active_limit());
  EXPECT_TRUE(run_sync(ioc_, queue.spawn(request(), sink_)));
}

TEST_F(SpawnQueueTest, StartTimeoutCancelsStart) {
  cfg_.start_timeout = 1s;
  fake_.start_delay = 60s;
  SpawnQueue queue(cfg_, fake_, client_, clock_, log_, [this] { return running_; });
  auto r = run_sync(ioc_, queue.spawn(request(), sink_));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "the spawner did not start the server within start_timeout (1 s)");
  EXPECT_TRUE(fake_.start_saw_cancel);
  EXPECT_EQ(queue.spawning(), 0u);
}

TEST_F(SpawnQueueTest, ExitedServerIsReportedWithItsOutputAndStopped) {
  fake_.exit_status = 3;
  fake_.tail = "Traceback ...\nboom";
  SpawnQueue queue(cfg_, fake_, client_, clock_, log_, [this] { return running_; });
  auto r = run_sync(ioc_, queue.spawn(request(), sink_));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "the server exited with status 3 before answering at " + fake_.url +
                "/user/alice/; its last output:\nTraceback ...\nboom");
  EXPECT_EQ(fake_.stops, 1);
}

// The real process: `sleep` never listens, so readiness times out and the queue kills it.
TEST_F(SpawnQueueTest, ServerThatNeverAnswersTimesOutAndIsKilled) {
  cfg_.cmd = {"sleep", "600"};
  cfg_.http_timeout = 1s;
  auto& local = make_spawner();
  SpawnQueue queue(cfg_, local, client_, clock_, log_, [this] { return running_; });
  auto r = run_sync(ioc_, queue.spawn(request(), sink_));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("did not answer within http_timeout (1 s); last attempt: "),
            std::string::npos)
      << r.error().message;
  ASSERT_TRUE(sink_.started_with.has_value());
  pid_t pid = pid_of(sink_.started_with->state);
  groups_.push_back(pid);
  EXPECT_FALSE(process_alive(pid));
  EXPECT_FALSE(any_live_member(pid));
  EXPECT_EQ(runners_.back()->children_for_test(), 0u);
}

}  // namespace
}  // namespace nbhub::spawn::test
