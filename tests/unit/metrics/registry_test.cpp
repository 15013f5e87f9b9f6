// The metrics registry and the Prometheus text format 0.0.4 (metrics/registry.hpp,
// metrics/exposition.hpp). The integration test (tests/integration/test_metrics.py) parses a
// real scrape with prometheus_client; these pin the bytes.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "metrics/exposition.hpp"
#include "metrics/process_metrics.hpp"
#include "metrics/registry.hpp"

namespace nbhub::metrics {
namespace {

std::string number(double v) {
  std::string s;
  append_number(s, v);
  return s;
}

TEST(MetricsExposition, WritesNumbersAsThePythonClientDoes) {
  EXPECT_EQ(number(1), "1.0");
  EXPECT_EQ(number(0), "0.0");
  EXPECT_EQ(number(0.005), "0.005");
  EXPECT_EQ(number(2.5), "2.5");
  EXPECT_EQ(number(600), "600.0");
  EXPECT_EQ(number(10000), "10000.0");
  EXPECT_EQ(number(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(number(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(number(std::nan("")), "NaN");
}

TEST(MetricsExposition, EscapesLabelValuesAndHelp) {
  std::string s;
  append_escaped_label(s, "a\\b\"c\nd");
  EXPECT_EQ(s, "a\\\\b\\\"c\\nd");
  s.clear();
  append_escaped_help(s, "x\\y\n\"z\"");
  EXPECT_EQ(s, "x\\\\y\\n\"z\"");  // quotes stay in HELP
}

TEST(MetricsRegistry, CounterAndGaugeWithLabels) {
  Registry r("jupyterhub");
  auto& c = r.counter("nbhub_things_total", "Things counted", {"outcome"});
  c.labels({"ok"}).inc();
  c.labels({"ok"}).inc(2);
  c.labels({"bad \"one\""}).inc();
  auto& g = r.gauge(r.prefixed("running_servers"), "The number of user servers currently running");
  g.get().set(3);
  EXPECT_EQ(r.expose(),
            "# HELP nbhub_things_total Things counted\n"
            "# TYPE nbhub_things_total counter\n"
            "nbhub_things_total{outcome=\"bad \\\"one\\\"\"} 1.0\n"
            "nbhub_things_total{outcome=\"ok\"} 3.0\n"
            "# HELP jupyterhub_running_servers The number of user servers currently running\n"
            "# TYPE jupyterhub_running_servers gauge\n"
            "jupyterhub_running_servers 3.0\n");
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  static constexpr double kBounds[] = {0.5, 1, 2.5};
  auto& h = r.histogram("spawn_seconds", "Spawns", {"status"}, kBounds);
  auto& ok = h.labels({"success"});
  ok.observe(0.5);  // on a bound: counted in that bucket (le is "less or equal")
  ok.observe(0.7);
  ok.observe(3);
  EXPECT_EQ(r.expose(),
            "# HELP spawn_seconds Spawns\n"
            "# TYPE spawn_seconds histogram\n"
            "spawn_seconds_bucket{status=\"success\",le=\"0.5\"} 1.0\n"
            "spawn_seconds_bucket{status=\"success\",le=\"1.0\"} 2.0\n"
            "spawn_seconds_bucket{status=\"success\",le=\"2.5\"} 2.0\n"
            "spawn_seconds_bucket{status=\"success\",le=\"+Inf\"} 3.0\n"
            "spawn_seconds_count{status=\"success\"} 3.0\n"
            "spawn_seconds_sum{status=\"success\"} 4.2\n");
}

TEST(MetricsRegistry, HistogramWithoutLabelsAndAnExplicitInfBound) {
  Registry r;
  static constexpr double kBounds[] = {1, std::numeric_limits<double>::infinity()};
  r.histogram("h", "H", {}, kBounds).get();
  EXPECT_EQ(r.expose(),
            "# HELP h H\n# TYPE h histogram\n"
            "h_bucket{le=\"1.0\"} 0.0\nh_bucket{le=\"+Inf\"} 0.0\nh_count 0.0\nh_sum 0.0\n");
}

TEST(MetricsRegistry, CallbacksAndCollectHooksRunAtEachScrape) {
  Registry r;
  int collected = 0;
  r.on_collect([&] { ++collected; });
  r.callback(Type::gauge, "answer", "The answer", [&] { return 40.0 + collected; });
  EXPECT_NE(r.expose().find("answer 41.0\n"), std::string::npos);
  EXPECT_NE(r.expose().find("answer 42.0\n"), std::string::npos);
}

TEST(MetricsRegistry, RefusesADuplicateName) {
  Registry r;
  r.gauge("g", "G");
  EXPECT_THROW(r.counter("g", "again"), std::logic_error);
}

TEST(MetricsRegistry, ChildrenBeyondTheCapShareOneOverflowChild) {
  Registry r;
  auto& c = r.counter("c_total", "C", {"k"});
  for (std::size_t i = 0; i < kMaxChildren + 10; ++i) c.labels({std::to_string(i)}).inc();
  EXPECT_EQ(c.labels({"other"}).value(), 10u);
  std::size_t n = 0;
  c.each([&](auto const&, Counter const&) { ++n; });
  EXPECT_EQ(n, kMaxChildren + 1);
}

TEST(MetricsRegistry, ConcurrentObservationsAreAllCounted) {
  Registry r;
  auto& h = r.histogram("h", "H").get();
  auto& c = r.counter("c_total", "C").get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        h.observe(0.01);
        c.inc();
      }
    });
  for (auto& t : threads) t.join();
  auto s = h.snapshot();
  EXPECT_EQ(s.count, 40000u);
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_NEAR(s.sum, 400.0, 1e-6);
}

TEST(ProcessMetrics, ReadsThisProcess) {
  auto s = sample_process();
  EXPECT_GT(s.resident_bytes, 0);
  EXPECT_GT(s.virtual_bytes, s.resident_bytes);
  EXPECT_GT(s.open_fds, 0);
  EXPECT_GE(s.max_fds, s.open_fds);
  EXPECT_GT(s.start_time_seconds, 1.6e9);
  Registry r;
  add_process_metrics(r);
  auto text = r.expose();
  for (auto name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds ",
                    "process_max_fds ", "process_start_time_seconds ", "process_virtual_memory_bytes "})
    EXPECT_NE(text.find(std::string("\n") + name), std::string::npos) << name;
}

}  // namespace
}  // namespace nbhub::metrics
