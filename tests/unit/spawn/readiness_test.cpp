// wait_until_ready against loopback servers: what counts as up (spec §1.7), retries on 5xx and
// refused connections, the deadline, and giving up at once when the server exited.
#include "spawn/readiness.hpp"
#include "unit/spawn/fake_spawner.hpp"
#include "unit/spawn/spawn_fixture.hpp"

namespace nbhub::spawn::test {
namespace {

using http::test::http_response;
using http::test::Reply;
using http::test::SeenRequest;
using http::test::TestServer;

class ReadinessTest : public SpawnFixture {
 protected:
  Result<ServerReady> wait(std::string url, std::chrono::milliseconds timeout = 2s,
                           Clock const* clock = nullptr) {
    http::BeastHttpClient client(ioc_, http_cfg_, log_);
    ReadinessPolicy policy{timeout};
    return run_sync(ioc_, wait_until_ready(client, fake_, {}, std::move(url), policy,
                                           clock ? *clock : clock_, log_));
  }
  config::HttpClientConfig http_cfg_;
  FakeSpawner fake_;
};

TEST_F(ReadinessTest, AnyStatusBelow500CountsAsUpWithoutFollowingRedirects) {
  for (unsigned status : {200u, 302u, 403u, 404u}) {
    TestServer server([status](SeenRequest const&) {
      return Reply{http_response("", status, "Location: /elsewhere\r\n")};
    });
    auto r = wait(server.url("/user/alice/"));
    ASSERT_TRUE(r) << status << ": " << r.error().message;
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(server.requests().size(), 1u);  // the redirect was not followed
    EXPECT_EQ(server.requests().front().target, "/user/alice/");
  }
}

TEST_F(ReadinessTest, ServerErrorsAreRetriedAndLogged) {
  int calls = 0;
  TestServer server([&calls](SeenRequest const&) {
    return Reply{++calls < 3 ? http_response("", 503)
                             : http_response("", 302, "X-JupyterHub-Version: 3.0.0\r\n")};
  });
  auto r = wait(server.url("/user/alice/"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(r->jupyterhub_version, "3.0.0");
  EXPECT_NE(logged_.str().find("answered 503"), std::string::npos);
}

TEST_F(ReadinessTest, RefusedConnectionsAreRetriedUntilHttpTimeout) {
  auto port = pick_free_port("127.0.0.1");  // closed again: connections are refused
  ASSERT_TRUE(port);
  std::string url = "http://127.0.0.1:" + std::to_string(*port) + "/user/alice/";
  fake_.tail = "still starting";
  auto t0 = std::chrono::steady_clock::now();
  auto r = wait(url, 300ms);
  ASSERT_FALSE(r);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("the server at " + url +
                                   " did not answer within http_timeout (300 ms); last attempt: "),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("its last output:\nstill starting"), std::string::npos);
}

TEST_F(ReadinessTest, DeadlineFollowsTheInjectedClock) {
  FakeClock clock(std::chrono::system_clock::time_point{} + 1000h);
  // A server whose every answer is a 500 moves the fake clock past the deadline.
  TestServer server([&clock](SeenRequest const&) {
    clock.advance(31s);
    return Reply{http_response("", 500)};
  });
  auto r = wait(server.url("/"), 30s, &clock);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("within http_timeout (30 s); last attempt: HTTP 500"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(ReadinessTest, GivesUpAtOnceWhenTheServerExited) {
  TestServer server([](SeenRequest const&) { return Reply{http_response("", 302)}; });
  fake_.exit_status = -9;
  auto r = wait(server.url("/"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("was killed by signal 9 (KILL) before answering"),
            std::string::npos);
  EXPECT_EQ(server.requests().size(), 0u);
}

TEST(DescribeExit, ReadsLikeJupyterHubsMessages) {
  EXPECT_EQ(describe_exit(3), "exited with status 3");
  EXPECT_EQ(describe_exit(-15), "was killed by signal 15 (TERM)");
  EXPECT_EQ(describe_exit(0), "exited (status unknown)");
  EXPECT_EQ(describe_duration(std::chrono::seconds(30)), "30 s");
  EXPECT_EQ(describe_duration(std::chrono::milliseconds(250)), "250 ms");
}

}  // namespace
}  // namespace nbhub::spawn::test
