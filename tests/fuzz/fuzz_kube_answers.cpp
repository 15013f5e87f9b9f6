// The Kubernetes API server's answers, and what pods report about themselves (a pod's status
// and events carry text its image controls). With answers taken from the input
// (scripted_http.hpp), the real code runs: KubeApi calls (Status bodies, Retry-After), a watch
// stream cut into pieces (line splitting, event decoding), and a Reflector's list + watch loop
// over them, whose copy is then read as the spawner reads it (view_pod, pod_failure). Nothing
// may crash or throw; the copy holds only named objects.
#include <fuzzer/FuzzedDataProvider.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <cstdlib>

#include "fuzz_log.hpp"
#include "scripted_http.hpp"
#include "spawn/kube_api.hpp"
#include "spawn/kube_objects.hpp"
#include "spawn/kube_reflector.hpp"

namespace net = boost::asio;
namespace json = boost::json;
using namespace nbhub;
using namespace nbhub::spawn::kube;

namespace {

void read_pod(json::object const& pod) {
  auto v = view_pod(pod);
  (void)pod_failure(v);
  (void)meta(pod, "name");
  if (v.ready && (v.ip.empty() || v.terminating)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  auto& log = fuzz::quiet_logger();
  FuzzedDataProvider in(data, size);
  fuzz::ScriptedHttp http(in);
  KubeApi api(ApiAccess{.url = "https://10.96.0.1:443", .token = "t0ken"}, http, std::chrono::seconds(5), log);
  net::io_context ioc;
  auto fail = [](std::exception_ptr e) { if (e) std::abort(); };

  if (in.ConsumeBool()) {
    // One call and one watch, as the spawner makes them.
    net::co_spawn(ioc, [&]() -> net::awaitable<void> {
      auto r = co_await api.call("GET", core_path("jhub", "pods", "jupyter-alice"));
      if (r) {
        (void)KubeApi::describe("read pod", *r);
        if (r->ok() && r->body.is_object()) read_pod(r->body.as_object());
      }
      int events = 0;
      auto w = co_await api.watch(core_path("jhub", "events") + "?watch=true", [&](WatchEvent&& ev) {
        read_pod(ev.object);
        return ++events < 1000;
      }, std::chrono::seconds(5), std::chrono::seconds(5));
      if (w) (void)KubeApi::describe("watch", *w);
    }, fail);
    ioc.run();
    return 0;
  }

  // A reflector: its LIST, then its WATCH, then whatever the input still answers. Once the
  // input is used up every call fails and the loop backs off on a timer: then it is stopped.
  auto reflector = Reflector::create(api, ReflectorOptions{.what = "pods", .path = core_path("jhub", "pods"),
                                                           .label_selector = "component=singleuser-server"},
                                     log);
  reflector->set_on_event([](std::string const&, json::object const& o) { read_pod(o); });
  reflector->start(ioc.get_executor());
  for (int i = 0; i < 10000 && ioc.poll() > 0; ++i) {
  }
  reflector->stop();
  ioc.poll();
  for (auto const& pod : reflector->items()) {
    if (meta(pod, "name").empty()) std::abort();
    read_pod(pod);
  }
  return 0;
}
