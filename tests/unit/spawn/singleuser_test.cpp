// The real Debian jupyterhub-singleuser 3.0 under LocalSpawner, against a stand-in for the
// hub API on loopback.
//
// Why a stand-in and not a closed port: singleuser 3.0 calls GET $JUPYTERHUB_API_URL in
// start() *before* it listens (mixins.py check_hub_version, spec §1.4) and, when the hub is
// unreachable, retries 5 times with sleeps of 2, 4, 8, 16, 16 s and exits 1. With a closed port
// the server never answers within any sensible http_timeout. So a tiny server answers every
// request with {"version": "3.0.0"} and X-JupyterHub-Version, as nbhub's /hub/api will; the
// activity POSTs the server sends later get the same answer.
//
// Running as root (as here), the notebook app refuses to start without --allow-root; that is
// passed through Spawner.args, as an operator would.
#include <unistd.h>

#include "spawn/readiness.hpp"
#include "unit/spawn/spawn_fixture.hpp"

namespace nbhub::spawn::test {
namespace {

constexpr char kSingleuser[] = "/usr/bin/jupyterhub-singleuser";

class SingleuserTest : public SpawnFixture {
 protected:
  SingleuserTest()
      : hub_([](http::test::SeenRequest const&) {
          return http::test::Reply{http::test::http_response(
              R"({"version": "3.0.0"})", 200,
              "Content-Type: application/json\r\nX-JupyterHub-Version: 3.0.0\r\n")};
        }) {}

  // The hub's part of the contract (spec §1.2) for alice's default server.
  SpawnRequest contract_request() {
    auto req = request("alice");
    std::string api = hub_.url("/hub/api");
    req.env = {
        {"JUPYTERHUB_API_TOKEN", "0123456789abcdef0123456789abcdef"},
        {"JPY_API_TOKEN", "0123456789abcdef0123456789abcdef"},
        {"JUPYTERHUB_CLIENT_ID", "jupyterhub-user-alice"},
        {"JUPYTERHUB_HOST", ""},
        {"JUPYTERHUB_OAUTH_CALLBACK_URL", "/user/alice/oauth_callback"},
        {"JUPYTERHUB_OAUTH_ACCESS_SCOPES",
         R"(["access:servers!server=alice/", "access:servers!user=alice"])"},
        {"JUPYTERHUB_OAUTH_SCOPES",
         R"(["access:servers!server=alice/", "access:servers!user=alice"])"},
        {"JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES", "[]"},
        {"JUPYTERHUB_USER", "alice"},
        {"JUPYTERHUB_SERVER_NAME", ""},
        {"JUPYTERHUB_API_URL", api},
        {"JUPYTERHUB_ACTIVITY_URL", api + "/users/alice/activity"},
        {"JUPYTERHUB_BASE_URL", "/"},
        {"JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED", "0"},
    };
    return req;
  }

  http::test::TestServer hub_;
};

TEST_F(SingleuserTest, StartsAnswersPollsAndStopsTheRealServer) {
  if (::access(kSingleuser, X_OK) != 0) GTEST_SKIP() << kSingleuser << " is not installed";
  cfg_.cmd = {kSingleuser};
  if (::geteuid() == 0) cfg_.args = {"--allow-root"};
  cfg_.notebook_dir = dir_;
  cfg_.environment = {{"HOME", dir_}};  // keep ~/.jupyter and ~/.local out of the real home
  auto& s = make_spawner();

  auto st = start(s, contract_request());
  ASSERT_TRUE(st) << st.error().message;
  pid_t pid = pid_of(st->state);
  EXPECT_GT(pid, 1);

  http::BeastHttpClient client(ioc_, config::HttpClientConfig{}, log_);
  ReadinessPolicy policy{20s};
  auto ready = run_sync(ioc_, wait_until_ready(client, s, st->state, st->url + "/user/alice/",
                                               policy, clock_, log_));
  ASSERT_TRUE(ready) << ready.error().message << "\nlog:\n"
                     << slurp(std::string(st->state.at("log").as_string()));
  EXPECT_EQ(ready->status, 302u);  // to /user/alice/tree/?
  EXPECT_EQ(ready->jupyterhub_version, "3.0.0");
  EXPECT_GE(hub_.requests().size(), 1u);
  EXPECT_EQ(hub_.requests().front().target, "/hub/api");  // the version check (spec §2.1)
  EXPECT_EQ(run_sync(ioc_, s.poll(st->state)), std::nullopt);

  auto stopped = run_sync(ioc_, s.stop(st->state, false));
  ASSERT_TRUE(stopped) << stopped.error().message;
  EXPECT_FALSE(process_alive(pid));
  EXPECT_FALSE(any_live_member(pid));
  EXPECT_TRUE(run_sync(ioc_, s.poll(st->state)).has_value());

  std::string log = slurp(std::string(st->state.at("log").as_string()));
  EXPECT_NE(log.find("Starting jupyterhub-singleuser server version 3.0.0"), std::string::npos)
      << log;
  EXPECT_NE(log.find("Serving notebooks from local directory: " + dir_), std::string::npos)
      << log;  // JUPYTERHUB_ROOT_DIR
  // A clean stop: SIGINT (no terminal) ends the server through its shutdown of kernels.
  EXPECT_NE(log.find("Interrupted..."), std::string::npos) << log;
  EXPECT_NE(log.find("Shutting down 0 kernels"), std::string::npos) << log;
}

}  // namespace
}  // namespace nbhub::spawn::test
