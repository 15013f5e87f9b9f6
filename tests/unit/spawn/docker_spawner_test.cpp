// DockerSpawner: the settings from DockerSpawner traits, the create request it builds, and
// the whole life of a container against a real, private dockerd (docker_rig.hpp): start,
// answer HTTP, poll, adopt by a second spawner (an nbhub restart), stop and remove; a
// container that exits at once; a missing image with pulls refused; no daemon at all.
// Without a usable dockerd the daemon tests report SKIPPED with the reason.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <sstream>

#include "config/load.hpp"
#include "http/client_impl.hpp"
#include "spawn/docker_spawner.hpp"
#include "unit/http/test_server.hpp"
#include "unit/spawn/docker_rig.hpp"
#include "unit/spawn/spawn_fixture.hpp"

namespace nbhub::spawn::test {
namespace {

namespace json = boost::json;

EnvLookup no_env() {
  return [](std::string const&) { return std::optional<std::string>{}; };
}

SpawnRequest docker_request(std::string user = "alice", std::string server = "") {
  SpawnRequest r;
  r.user = user;
  r.server_name = server;
  r.service_prefix = "/user/" + user + "/" + (server.empty() ? "" : server + "/");
  r.env = {{"JUPYTERHUB_USER", user}, {"JUPYTERHUB_API_TOKEN", "secret-token"}};
  return r;
}

TEST(DockerConfig, ReadsDockerSpawnerTraitsAndDockerHost) {
  std::map<std::string, std::string> traits{
      {"DockerSpawner.image", "quay.io/jupyter/base-notebook:2024-01-01"},
      {"DockerSpawner.network_name", "host"},
      {"DockerSpawner.remove", "true"},
      {"DockerSpawner.volumes",
       R"({"jupyterhub-user-{username}": "/home/jovyan/work", "/data": {"bind": "/data", "mode": "ro"}})"},
      {"DockerSpawner.extra_host_config", R"({"cap_add": ["SYS_ADMIN"]})"},
      {"DockerSpawner.pull_policy", "Never"},
      {"Spawner.mem_limit", "\"2G\""},
      {"Spawner.cpu_limit", "1.5"}};
  auto env = [](std::string const& k) -> std::optional<std::string> {
    if (k == "DOCKER_HOST") return "unix:///run/user/1000/docker.sock";
    return std::nullopt;
  };
  auto c = docker_config_from_traits({}, traits, env);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->socket_path, "/run/user/1000/docker.sock");
  EXPECT_EQ(c->image, "quay.io/jupyter/base-notebook:2024-01-01");
  EXPECT_EQ(c->network_name, "host");
  EXPECT_TRUE(c->remove);
  EXPECT_EQ(c->pull_policy, "never");
  EXPECT_EQ(c->mem_limit, 2LL * 1024 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(c->cpu_limit, 1.5);
  ASSERT_EQ(c->volumes.size(), 2u);
  EXPECT_EQ(c->volumes[0].source, "jupyterhub-user-{username}");  // in the order written
  EXPECT_EQ(c->volumes[0].target, "/home/jovyan/work");
  EXPECT_FALSE(c->volumes[0].read_only);
  EXPECT_EQ(c->volumes[1].source, "/data");
  EXPECT_TRUE(c->volumes[1].read_only);
}

// A jupyterhub_config.py for DockerSpawner, through the real importer, reaches DockerConfig.
TEST(DockerConfig, JupyterhubConfigPyTraitsArriveThroughTheImporter) {
  auto loaded = config::load_from(
      config::ConfigSource{"jupyterhub_config.py", config::ConfigFormat::jupyterhub_py,
                           "c = get_config()\n"
                           "c.JupyterHub.spawner_class = 'dockerspawner.DockerSpawner'\n"
                           "c.DockerSpawner.image = 'jupyterhub/singleuser:4'\n"
                           "c.DockerSpawner.network_name = 'jupyterhub'\n"
                           "c.DockerSpawner.remove = True\n"
                           "c.DockerSpawner.volumes = {'jupyterhub-user-{username}': '/home/jovyan/work'}\n"
                           "c.DockerSpawner.extra_host_config = {'cap_add': ['SYS_ADMIN']}\n"
                           "c.Spawner.mem_limit = '1G'\n"
                           "c.Spawner.cpu_limit = 2\n"},
      config::CliInvocation{}, std::map<std::string, std::string>{});
  EXPECT_EQ(loaded.hub.spawner, "docker");
  auto c = docker_config_from_traits({}, loaded.hub.spawner_options, no_env());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->image, "jupyterhub/singleuser:4");
  EXPECT_EQ(c->network_name, "jupyterhub");
  EXPECT_TRUE(c->remove);
  ASSERT_EQ(c->volumes.size(), 1u);
  EXPECT_EQ(c->volumes[0].source, "jupyterhub-user-{username}");
  EXPECT_EQ(c->mem_limit, 1LL << 30);
  EXPECT_DOUBLE_EQ(c->cpu_limit, 2);
  EXPECT_EQ(c->extra_host_config.at("cap_add"), json::array{"SYS_ADMIN"});
}

TEST(DockerConfig, BadTraitsAndTcpDockerHostAreConfigErrorsNamingThem) {
  auto tcp = [](std::string const& k) -> std::optional<std::string> {
    if (k == "DOCKER_HOST") return "tcp://10.0.0.1:2376";
    return std::nullopt;
  };
  auto r = docker_config_from_traits({}, {}, tcp);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("DOCKER_HOST: only unix://"), std::string::npos);
  auto m = docker_config_from_traits({}, {{"Spawner.mem_limit", "lots"}}, no_env());
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("Spawner.mem_limit"), std::string::npos);
  auto v = docker_config_from_traits({}, {{"DockerSpawner.volumes", "[1]"}}, no_env());
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("DockerSpawner.volumes"), std::string::npos);
  EXPECT_EQ(parse_byte_size("512M"), 512LL * 1024 * 1024);
  EXPECT_EQ(parse_byte_size("1024"), 1024);
  EXPECT_FALSE(parse_byte_size("1X"));
}

class DockerBody : public ::testing::Test {
 protected:
  DockerBody() : log_("docker", std::make_shared<spdlog::sinks::ostream_sink_mt>(logged_)) {}
  boost::asio::io_context ioc_;
  std::ostringstream logged_;
  spdlog::logger log_;
  http::BeastHttpClient http_{ioc_, config::HttpClientConfig{}, log_};
};

TEST_F(DockerBody, CreateRequestCarriesImageCmdEnvVolumesLimitsAndPassthrough) {
  SpawnerConfig cfg;
  cfg.cmd = {"jupyterhub-singleuser"};
  cfg.args = {"--debug"};
  cfg.notebook_dir = "/home/jovyan/work";
  cfg.environment = {{"GREETING", "hello {username}"}};
  DockerConfig d;
  d.image = "jupyterhub/singleuser:latest";
  d.network_name = "jupyterhub";
  d.volumes = {{"jupyterhub-user-{username}", "/home/jovyan/work", false}, {"/srv/shared", "/shared", true}};
  d.cpu_limit = 0.5;
  d.mem_limit = 1 << 30;
  d.extra_create_kwargs = {{"working_dir", "/home/jovyan"}, {"User", "1000"}};
  d.extra_host_config = {{"cap_add", json::array{"SYS_ADMIN"}}, {"mem_limit", 123}};
  DockerSpawner s(cfg, d, http_, log_);
  EXPECT_EQ(s.container_name("alice", ""), "jupyter-alice");
  EXPECT_EQ(s.container_name("a@b.c", "gpu"), "jupyter-a-40b.c--gpu");

  auto body = s.create_body(docker_request("alice"), 8888, "http://0.0.0.0:8888/user/alice/");
  ASSERT_TRUE(body) << body.error().message;
  auto const& b = *body;
  EXPECT_EQ(b.at("Image"), "jupyterhub/singleuser:latest");
  EXPECT_EQ(b.at("Cmd"), (json::array{"jupyterhub-singleuser", "--debug"}));
  EXPECT_EQ(b.at("WorkingDir"), "/home/jovyan");
  EXPECT_EQ(b.at("User"), "1000");
  auto const& env = b.at("Env").as_array();
  auto has = [&](std::string const& kv) {
    return std::find(env.begin(), env.end(), json::value(kv)) != env.end();
  };
  EXPECT_TRUE(has("JUPYTERHUB_USER=alice"));
  EXPECT_TRUE(has("JUPYTERHUB_API_TOKEN=secret-token"));
  EXPECT_TRUE(has("JUPYTERHUB_SERVICE_URL=http://0.0.0.0:8888/user/alice/"));
  EXPECT_TRUE(has("JUPYTERHUB_ROOT_DIR=/home/jovyan/work"));
  EXPECT_TRUE(has("GREETING=hello alice"));
  for (auto const& e : env)  // env_keep is empty for containers
    EXPECT_FALSE(json::value_to<std::string>(e).starts_with("PATH=")) << e;
  auto const& host = b.at("HostConfig").as_object();
  EXPECT_EQ(host.at("NetworkMode"), "jupyterhub");
  EXPECT_EQ(host.at("Binds"), (json::array{"jupyterhub-user-alice:/home/jovyan/work",
                                           "/srv/shared:/shared:ro"}));
  EXPECT_EQ(host.at("NanoCpus"), 500000000);
  EXPECT_EQ(host.at("Memory"), 123);  // extra_host_config wins, as in DockerSpawner
  EXPECT_EQ(host.at("CapAdd"), json::array{"SYS_ADMIN"});
  EXPECT_TRUE(b.at("ExposedPorts").as_object().contains("8888/tcp"));
}

TEST_F(DockerBody, NoDaemonIsUnavailableAndNamesTheSocket) {
  DockerConfig d;
  d.socket_path = "/nonexistent/docker.sock";
  DockerSpawner s(SpawnerConfig{}, d, http_, log_);
  RecordingSink sink;
  auto r = run_sync(ioc_, s.start(docker_request(), sink));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("/nonexistent/docker.sock"), std::string::npos)
      << r.error().message;
}

// ---- against a real daemon ----------------------------------------------------------------

class DockerDaemon : public DockerBody {
 protected:
  void SetUp() override {
    auto& rig = DockerRig::shared();
    if (!rig.available()) GTEST_SKIP() << "Docker cannot run here: " << rig.reason();
    docker_.socket_path = rig.socket();
    docker_.image = rig.image();
    docker_.pull_policy = "never";
    docker_.network_name = "host";
    docker_.remove = true;
    docker_.volumes = {{"/usr", "/usr", true}};
    // A tiny HTTP server standing in for jupyterhub-singleuser: it serves on the port of
    // JUPYTERHUB_SERVICE_URL, on 127.0.0.1 (host networking), and says who it runs for.
    cfg_.cmd = {"python3", "-c",
                "import os, http.server, urllib.parse as u\n"
                "p = u.urlparse(os.environ['JUPYTERHUB_SERVICE_URL']).port\n"
                "class H(http.server.BaseHTTPRequestHandler):\n"
                "  def do_GET(self):\n"
                "    b = os.environ['JUPYTERHUB_USER'].encode()\n"
                "    self.send_response(200); self.send_header('Content-Length', str(len(b)))\n"
                "    self.end_headers(); self.wfile.write(b)\n"
                "http.server.HTTPServer(('127.0.0.1', p), H).serve_forever()\n"};
    cfg_.term_timeout = 2s;
  }
  std::optional<std::string> get(std::string const& url) {
    for (int i = 0; i < 100; ++i) {
      http::ClientRequest req{.url = url};
      auto r = run_sync(ioc_, http_.send(std::move(req)));
      if (r && r->status == 200) return r->body;
      std::this_thread::sleep_for(100ms);
    }
    return std::nullopt;
  }
  bool container_exists(std::string const& name) {
    return DockerRig::shared().cli("inspect " + name + " >/dev/null") == 0;
  }
  SpawnerConfig cfg_;
  DockerConfig docker_;
};

TEST_F(DockerDaemon, StartsServesPollsIsAdoptedAfterRestartAndStopRemovesTheContainer) {
  RecordingSink sink;
  auto t0 = std::chrono::steady_clock::now();
  std::optional<Started> started;
  {
    DockerSpawner first(cfg_, docker_, http_, log_);
    auto r = run_sync(ioc_, first.start(docker_request("alice"), sink));
    ASSERT_TRUE(r) << r.error().message;
    started = *r;
    EXPECT_EQ(r->state.at("container_name"), "jupyter-alice");
    EXPECT_TRUE(r->url.starts_with("http://127.0.0.1:")) << r->url;
    auto body = get(r->url + "/user/alice/");
    ASSERT_TRUE(body) << "the container never answered at " << r->url;
    EXPECT_EQ(*body, "alice");
    std::cout << "docker spawn to first answer: "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - t0)
                     .count()
              << " ms\n";
    EXPECT_EQ(run_sync(ioc_, first.poll(r->state)), std::nullopt);
  }
  // A second spawner object stands for a restarted nbhub: it adopts the running container.
  DockerSpawner second(cfg_, docker_, http_, log_);
  ASSERT_TRUE(second.adopt(started->state));
  EXPECT_EQ(run_sync(ioc_, second.poll(started->state)), std::nullopt);
  EXPECT_EQ(get(started->url + "/user/alice/"), "alice");

  auto stopped = run_sync(ioc_, second.stop(started->state, false));
  ASSERT_TRUE(stopped) << stopped.error().message;
  EXPECT_FALSE(container_exists("jupyter-alice"));  // remove = true
  EXPECT_EQ(run_sync(ioc_, second.poll(started->state)), 0);
  EXPECT_TRUE(run_sync(ioc_, second.stop(started->state, true)));  // idempotent
}

TEST_F(DockerDaemon, AContainerThatExitsAtOnceFailsTheSpawnWithItsOutput) {
  cfg_.cmd = {"python3", "-c", "import sys; print('no notebook here'); sys.exit(3)"};
  DockerSpawner s(cfg_, docker_, http_, log_);
  RecordingSink sink;
  // The container may still be running at the first inspect; then poll reports the exit.
  auto r = run_sync(ioc_, s.start(docker_request("bob"), sink));
  if (r) {
    std::optional<int> code;
    for (int i = 0; i < 50 && !code; ++i) {
      code = run_sync(ioc_, s.poll(r->state));
      if (!code) std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(code, 3);
    EXPECT_NE(run_sync(ioc_, s.output_tail(r->state)).find("no notebook here"), std::string::npos);
    EXPECT_TRUE(run_sync(ioc_, s.stop(r->state, true)));
  } else {
    EXPECT_EQ(r.error().code, Errc::unavailable);
    EXPECT_NE(r.error().message.find("exited at once with code 3"), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("no notebook here"), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(container_exists("jupyter-bob"));
}

TEST_F(DockerDaemon, AMissingImageWithPullsRefusedIsAConfigErrorNamingIt) {
  docker_.image = "nbhub-no-such-image:1";
  DockerSpawner s(cfg_, docker_, http_, log_);
  RecordingSink sink;
  auto r = run_sync(ioc_, s.start(docker_request("carol"), sink));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::config);
  EXPECT_NE(r.error().message.find("nbhub-no-such-image:1 is not present"), std::string::npos)
      << r.error().message;
}

TEST_F(DockerDaemon, APullTheDaemonRefusesReportsTheDaemonsMessage) {
  // No registry is reachable (or the name does not exist): the daemon says why.
  docker_.image = "127.0.0.1:1/nbhub/no-such-image:1";
  docker_.pull_policy = "ifnotpresent";
  docker_.pull_timeout = 60s;
  DockerSpawner s(cfg_, docker_, http_, log_);
  RecordingSink sink;
  auto r = run_sync(ioc_, s.start(docker_request("dave"), sink));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("docker: pull image 127.0.0.1:1/nbhub/no-such-image:1"),
            std::string::npos)
      << r.error().message;
  EXPECT_TRUE(sink.saw("Pulling image"));
}

}  // namespace
}  // namespace nbhub::spawn::test
