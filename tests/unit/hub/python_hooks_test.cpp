// The Python hook helper (issue 22) with Debian's python3: calls answered concurrently, a
// raising hook and a sleeping one failing only their own call, the helper killed and started
// again, and the hook answer applied to a spawn request.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "config/pyeval.hpp"
#include "hub/python_hooks.hpp"
#include "spawn/spawner_overrides.hpp"

namespace nbhub::hub {
namespace {

namespace net = boost::asio;
namespace json = boost::json;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr char const* kHooks = R"(import asyncio, time
async def pre(spawner):
    name = spawner.user.name
    if name == "bob":
        raise RuntimeError("no server for bob")
    if name == "carol":
        await asyncio.sleep(30)
    if name == "dave":
        time.sleep(30)  # blocks the runtime's event loop: nbhub must kill the helper
    state = await spawner.user.get_auth_state()
    spawner.environment["UPSTREAM_TOKEN"] = state["access_token"] if state else "none"
    spawner.environment["GROUPS"] = ",".join(g.name for g in spawner.user.groups)
    spawner.user_options["seen"] = True
    spawner.image = "img-" + name
c.Spawner.pre_spawn_hook = pre
c.Spawner.environment = {"KEEP": "1", "DROP": "2"}
def state_hook(spawner, auth_state):
    del spawner.environment["DROP"]
c.Spawner.auth_state_hook = state_hook
c.KubeSpawner.username_claim = lambda info: info["email"].split("@")[0]
def pod_hook(spawner, pod):
    from kubernetes_asyncio.client.models import V1Toleration
    pod.metadata.labels["team"] = spawner.user.name
    pod.spec.node_selector = {"gpu": "yes"}
    pod.spec.tolerations = [V1Toleration(key="gpu", operator="Exists", effect="NoSchedule")]
    pod.spec.containers[0].image_pull_policy = "Always"
    return pod
c.KubeSpawner.modify_pod_hook = pod_hook
def landing(handler):
    user = handler.current_user
    if user is None:
        return "/hub/login?from=" + handler.request.headers.get("x-origin", "none")
    return "/hub/admin" if user.admin else "/hub/home"
c.JupyterHub.default_url = landing
def named_limit(handler):
    if handler.request.path.endswith("/bad"):
        return "many"
    groups = [g.name for g in handler.current_user.groups] if handler.current_user else []
    return 10 if "power" in groups else 2
c.JupyterHub.named_server_limit_per_user = named_limit
)";

class HelperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
    config::pyeval::Request req;
    req.pieces.push_back({"hooks.py", "", kHooks});
    helper_ = std::make_unique<PythonHelper>(
        ioc_.get_executor(),
        PythonHelper::Options{"/usr/bin/python3", config::pyeval::context_json(req, std::chrono::seconds{1}),
                              std::chrono::seconds{1}, 1u << 20},
        *log_);
  }
  void TearDown() override { helper_.reset(); }

  static json::object spawn_call(std::string const& user) {
    return json::object{{"call", "spawn"},
                        {"sections", json::array{"Spawner", "KubeSpawner"}},
                        {"user", json::object{{"name", user}, {"groups", json::array{"staff", "gpu"}}}},
                        {"user_options", json::object{}},
                        {"auth_state", json::object{{"access_token", "tok-" + user}}}};
  }

  // Runs the calls at once; returns each result and how long it took.
  std::vector<std::pair<Result<json::object>, double>> run(std::vector<json::object> calls) {
    std::vector<std::pair<Result<json::object>, double>> out(calls.size(), {Error{Errc::internal, "not run"}, 0});
    std::size_t left = calls.size();
    for (std::size_t i = 0; i < calls.size(); ++i) {
      auto one = [&, i, call = std::move(calls[i])]() mutable -> net::awaitable<void> {
        auto t0 = Clock::now();
        auto r = co_await helper_->call(std::move(call));
        out[i] = {std::move(r), std::chrono::duration<double>(Clock::now() - t0).count()};
        if (--left == 0) ioc_.stop();
      };
      net::co_spawn(ioc_, std::move(one), net::detached);
    }
    ioc_.restart();
    ioc_.run_for(std::chrono::seconds(20));
    return out;
  }

  net::io_context ioc_;
  std::ostringstream log_text_;
  std::shared_ptr<spdlog::logger> log_ = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text_));
  std::unique_ptr<PythonHelper> helper_;
};

TEST_F(HelperTest, HooksSeeTheUserAndChangeTheEnvironment) {
  auto r = run({spawn_call("alice")});
  ASSERT_TRUE(r[0].first) << r[0].first.error().message;
  auto const& a = *r[0].first;
  EXPECT_EQ(json::serialize(a.at("environment")), R"({"UPSTREAM_TOKEN":"tok-alice","GROUPS":"staff,gpu"})");
  EXPECT_EQ(json::serialize(a.at("removed")), R"(["DROP"])");
  EXPECT_EQ(json::serialize(a.at("user_options")), R"({"seen":true})");
  EXPECT_EQ(json::serialize(a.at("traits")), R"({"image":"img-alice"})");

  spawn::SpawnRequest req;
  auto skipped = apply_hook_answer(a, req, [](std::string_view) { return true; });
  ASSERT_TRUE(skipped);
  EXPECT_TRUE(skipped->empty());
  EXPECT_EQ(req.hook_environment.at("UPSTREAM_TOKEN"), "tok-alice");
  EXPECT_EQ(req.hook_environment_removed, std::vector<std::string>{"DROP"});
  EXPECT_EQ(json::serialize(req.trait_overrides), R"({"image":"img-alice"})");
  // The local spawner has no images: the change is named, not applied.
  spawn::SpawnRequest local;
  auto local_applies = [](std::string_view t) { return spawn::override_problem(spawn::OverrideTarget::local, t).empty(); };
  EXPECT_EQ(*apply_hook_answer(a, local, local_applies), std::vector<std::string>{"image"});
  EXPECT_TRUE(local.trait_overrides.empty());
  // Nothing of the request reaches the log.
  EXPECT_THAT(log_text_.str(), ::testing::Not(HasSubstr("tok-alice")));
}

TEST_F(HelperTest, RaisingAndSleepingHooksFailOnlyTheirCall) {
  auto r = run({spawn_call("carol"), spawn_call("bob"), spawn_call("alice")});
  ASSERT_FALSE(r[0].first);
  EXPECT_THAT(r[0].first.error().message, HasSubstr("the hook did not finish within 1 s"));
  EXPECT_GE(r[0].second, 0.9);
  ASSERT_FALSE(r[1].first);
  EXPECT_EQ(r[1].first.error().message, "pre_spawn_hook: RuntimeError: no server for bob (hooks.py:5)");
  ASSERT_TRUE(r[2].first) << r[2].first.error().message;
  EXPECT_LT(r[2].second, 0.9) << "alice waited for carol";
  EXPECT_EQ(helper_->starts(), 1u);
}

TEST_F(HelperTest, AHookBlockingTheHelperGetsItKilledAndTheNextCallStartsANewOne) {
  auto r = run({spawn_call("dave")});
  ASSERT_FALSE(r[0].first);
  EXPECT_THAT(r[0].first.error().message, HasSubstr("did not finish within 1 s"));
  EXPECT_LT(r[0].second, 5.0);
  auto again = run({spawn_call("alice")});
  EXPECT_TRUE(again[0].first) << again[0].first.error().message;
  EXPECT_EQ(helper_->starts(), 2u);
}

TEST_F(HelperTest, KilledHelperComesBack) {
  auto first = run({spawn_call("alice")});
  ASSERT_TRUE(first[0].first);
  auto pid = helper_->pid();
  ASSERT_TRUE(pid);
  ::kill(*pid, SIGKILL);
  // Let the reader see the end.
  net::steady_timer t(ioc_, std::chrono::milliseconds(300));
  t.async_wait([&](auto) { ioc_.stop(); });
  ioc_.restart();
  ioc_.run_for(std::chrono::seconds(2));
  EXPECT_FALSE(helper_->pid());
  auto second = run({spawn_call("alice")});
  ASSERT_TRUE(second[0].first) << second[0].first.error().message;
  EXPECT_EQ(helper_->starts(), 2u);
  EXPECT_NE(helper_->pid(), pid);
  EXPECT_THAT(log_text_.str(), HasSubstr("stopped"));
}

TEST_F(HelperTest, ModifyPodHookSeesAV1PodLikeObject) {
  auto call = spawn_call("alice");
  call["call"] = "modify_pod";
  call["pod"] = json::parse(R"({"metadata": {"name": "jupyter-alice", "labels": {"app": "jupyterhub"}},
                                "spec": {"containers": [{"name": "notebook", "image": "x"}]}})");
  auto r = run({call});
  ASSERT_TRUE(r[0].first) << r[0].first.error().message;
  EXPECT_EQ(json::serialize(r[0].first->at("pod")),
            R"({"metadata":{"name":"jupyter-alice","labels":{"app":"jupyterhub","team":"alice"}},)"
            R"("spec":{"containers":[{"name":"notebook","image":"x","imagePullPolicy":"Always"}],)"
            R"("nodeSelector":{"gpu":"yes"},"tolerations":[{"key":"gpu","operator":"Exists","effect":"NoSchedule"}]}})");
}

TEST_F(HelperTest, UsernameClaim) {
  auto name = username_claim_hook(*helper_, {"Spawner", "KubeSpawner"});
  Result<std::string> got = Error{Errc::internal, "not run"};
  auto ask = [&]() -> net::awaitable<void> {
    json::object claims{{"email", "erin@example.org"}};
    got = co_await name(std::move(claims));
    ioc_.stop();
  };
  net::co_spawn(ioc_, ask, net::detached);
  ioc_.run_for(std::chrono::seconds(10));
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, "erin");
}

TEST_F(HelperTest, HandlerHooksSeeTheCurrentUserAndTheRequest) {
  HookUserLookup users = [](std::string const& name) -> net::awaitable<Result<HookUser>> {
    HookUser u;
    u.admin = name == "root";
    if (name == "pat") u.groups = {"power"};
    co_return u;
  };
  auto hook = handler_hook(*helper_, users, *log_);
  auto call = [&](std::string trait, std::optional<std::string> user, std::string path) {
    Result<json::value> got = Error{Errc::internal, "not run"};
    auto ask = [&]() -> net::awaitable<void> {
      HandlerCall c{.user = user, .method = "GET", .uri = path, .path = path, .remote_ip = "127.0.0.1",
                    .host = "hub.example.org", .protocol = "https", .headers = {{"X-Origin", "lab"}}};
      got = co_await hook(trait, std::move(c));
      ioc_.stop();
    };
    net::co_spawn(ioc_, ask, net::detached);
    ioc_.restart();
    ioc_.run_for(std::chrono::seconds(10));
    return got;
  };
  auto visitor = call("default_url", std::nullopt, "/hub/");
  ASSERT_TRUE(visitor) << visitor.error().message;
  EXPECT_EQ(visitor->as_string(), "/hub/login?from=lab");  // headers looked up without regard to case
  EXPECT_EQ(call("default_url", "root", "/hub/")->as_string(), "/hub/admin");
  EXPECT_EQ(call("default_url", "sam", "/hub/")->as_string(), "/hub/home");
  EXPECT_EQ(call("named_server_limit_per_user", "pat", "/hub/api/users/pat/servers/a")->as_int64(), 10);
  EXPECT_EQ(call("named_server_limit_per_user", "sam", "/hub/api/users/sam/servers/a")->as_int64(), 2);
  auto bad = call("named_server_limit_per_user", "sam", "/hub/api/users/sam/servers/bad");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("JupyterHub.named_server_limit_per_user returned 'many', not a whole number"));
  EXPECT_THAT(log_text_.str(), HasSubstr("JupyterHub.named_server_limit_per_user for sam"));
}

TEST(PythonHookAnswer, WrongShapesAreErrors) {
  spawn::SpawnRequest req;
  EXPECT_FALSE(apply_hook_answer(json::parse(R"({"environment": []})").as_object(), req, nullptr));
  EXPECT_FALSE(apply_hook_answer(json::parse(R"({"environment": {"A": 1}})").as_object(), req, nullptr));
  EXPECT_FALSE(apply_hook_answer(json::parse(R"({"user_options": "x"})").as_object(), req, nullptr));
}

}  // namespace
}  // namespace nbhub::hub
