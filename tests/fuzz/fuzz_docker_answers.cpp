// The Docker Engine API's answers: whoever controls the daemon, an image or a container's
// output controls these bytes. The real DockerSpawner runs a whole server's life (start with
// image inspect/pull, create, start, inspect; poll; output tail with multiplexed logs; stop)
// against answers taken from the input (scripted_http.hpp). Nothing may crash or throw; a
// start that succeeds names a container and a URL.
#include <fuzzer/FuzzedDataProvider.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>

#include "fuzz_log.hpp"
#include "scripted_http.hpp"
#include "spawn/docker_spawner.hpp"

namespace net = boost::asio;
namespace json = boost::json;
using namespace nbhub;

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  auto& log = fuzz::quiet_logger();
  FuzzedDataProvider in(data, size);
  fuzz::ScriptedHttp http(in);
  spawn::SpawnerConfig cfg;
  spawn::DockerConfig docker;
  docker.network_name = "nbhub-net";  // not host: no local port is bound
  docker.pull_policy = in.PickValueInArray({"ifnotpresent", "always", "never"});
  docker.remove = in.ConsumeBool();
  spawn::DockerSpawner spawner(cfg, docker, http, log);

  spawn::SpawnRequest req;
  req.user = "alice";
  req.server_name = in.ConsumeBool() ? "" : "lab";
  req.service_prefix = "/user/alice/";
  req.env["JUPYTERHUB_API_TOKEN"] = "t0ken";

  net::io_context ioc;
  net::co_spawn(ioc, [&]() -> net::awaitable<void> {
    spawn::NullProgressSink sink;
    auto started = co_await spawner.start(req, sink);
    json::object state;
    if (started) {
      if (started->url.empty()) std::abort();
      state = started->state;
    } else {
      state = json::object{{"container_id", "c0ffee"}, {"container_name", "jupyter-alice"},
                           {"url", "http://172.17.0.2:8888"}};
    }
    (void)spawner.adopt(state);
    (void)co_await spawner.poll(state);
    (void)co_await spawner.output_tail(state);
    (void)co_await spawner.stop(state, in.ConsumeBool());
  }, [](std::exception_ptr e) { if (e) std::abort(); });
  ioc.run();
  return 0;
}
