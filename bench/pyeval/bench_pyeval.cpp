// bench/pyeval: what running jupyterhub_config.py in Python costs (issue 22).
//
//   build/bench/bench_pyeval [DIR_WITH_SEED_CONFIGS] [ROUNDS]
//
// For each *.py in the directory (default tests/data), loads it ROUNDS times (default 10) the
// way nbhub does at start-up, once with config_python = "never" (the literal importer) and
// once with "always" (a python3 -I process running the embedded runtime), and prints the
// median of each and their difference and ratio. Then starts the hook helper for a
// configuration with a pre_spawn_hook and times ROUNDS hook calls (median, p95) after the
// first, which includes the helper's start. Everything is measured in this one run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "config/load.hpp"
#include "config/pyeval.hpp"
#include "hub/python_hooks.hpp"

using namespace nbhub;
using SteadyClock = std::chrono::steady_clock;

namespace {

double ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
double p95(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, v.size() * 95 / 100)];
}

double load_ms(std::string const& file, std::string const& mode) {
  auto env = config::current_environment();
  env["NBHUB_CONFIG_PYTHON"] = mode;
  config::CliInvocation cli;
  cli.config_file = file;
  auto t0 = SteadyClock::now();
  auto l = config::load(cli, env);
  auto t = ms(SteadyClock::now() - t0);
  if (mode == "always" && l.hub.python.evaluated_file.empty())
    std::fprintf(stderr, "  %s was not run by Python: %s\n", file.c_str(),
                 l.diagnostics.empty() ? "" : l.diagnostics.front().to_string().c_str());
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "tests/data";
  int rounds = argc > 2 ? std::atoi(argv[2]) : 10;
  std::vector<std::string> files;
  for (auto const& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".py") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::printf("config loading, median of %d rounds (ms)\n", rounds);
  std::printf("%-45s %10s %10s %10s %8s\n", "file", "literal", "python", "extra", "ratio");
  double worst = 0;
  for (auto const& f : files) {
    std::vector<double> lit, py;
    for (int i = 0; i < rounds; ++i) {
      lit.push_back(load_ms(f, "never"));
      py.push_back(load_ms(f, "always"));
    }
    double l = median(lit), p = median(py);
    worst = std::max(worst, p);
    std::printf("%-45s %10.2f %10.2f %10.2f %7.0fx\n", std::filesystem::path(f).filename().c_str(), l, p, p - l,
                l > 0 ? p / l : 0.0);
  }
  std::printf("slowest Python load: %.1f ms (target < 300 ms)\n\n", worst);

  // One hook call: the helper over a configuration with a pre_spawn_hook.
  char const* path = std::getenv("PATH");
  auto python = config::pyeval::find_executable("python3", path ? path : "");
  if (!python) return 0;
  config::pyeval::Request req;
  req.pieces.push_back({"bench_config.py", "",
                        "def hook(spawner):\n    spawner.environment['UPSTREAM_TOKEN'] = 'x' * 900\n"
                        "c.Spawner.pre_spawn_hook = hook\n"});
  boost::asio::io_context ioc;
  auto log = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
  hub::PythonHelper helper(ioc.get_executor(), {*python, config::pyeval::context_json(req, std::chrono::seconds{10})},
                           *log);
  std::vector<double> calls;
  double first = 0;
  auto run = [&]() -> boost::asio::awaitable<void> {
    for (int i = 0; i <= rounds * 10; ++i) {
      boost::json::object call{{"call", "spawn"}, {"sections", boost::json::array{"Spawner"}},
                               {"user", boost::json::object{{"name", "alice"}}}, {"auth_state", nullptr}};
      auto t0 = SteadyClock::now();
      auto r = co_await helper.call(std::move(call));
      auto t = ms(SteadyClock::now() - t0);
      if (!r) std::fprintf(stderr, "hook call failed: %s\n", r.error().message.c_str());
      if (i == 0)
        first = t;
      else
        calls.push_back(t);
    }
    ioc.stop();  // the helper's reader would keep the loop alive
  };
  boost::asio::co_spawn(ioc, run(), boost::asio::detached);
  ioc.run();
  std::printf("hook call (pre_spawn_hook setting one variable), %zu calls\n", calls.size());
  std::printf("  first call, helper start included: %.1f ms\n", first);
  std::printf("  median %.2f ms, p95 %.2f ms\n", median(calls), p95(calls));
  return 0;
}
