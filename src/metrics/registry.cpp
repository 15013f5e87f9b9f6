#include "metrics/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "metrics/exposition.hpp"

namespace nbhub::metrics {

std::string_view to_string(Type t) {
  switch (t) {
    case Type::counter: return "counter";
    case Type::gauge: return "gauge";
    case Type::histogram: return "histogram";
  }
  return "untyped";
}

std::span<const double> default_buckets() {
  static constexpr double kDefault[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                        0.5,   0.75, 1.0,   2.5,  5.0,   7.5, 10.0};
  return kDefault;
}

Histogram::Histogram(std::span<const double> bounds) {
  for (double b : bounds)
    if (!std::isinf(b)) bounds_.push_back(b);  // +Inf is always the last bucket
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double v) noexcept {
  // Prometheus buckets are "less than or equal": v lands in the first bound >= v.
  auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = acc;
  }
  s.count = acc;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

void Registry::check_new(std::string const& name) {
  for (auto const& e : entries_) {
    auto const& n = e.counter ? e.counter->name() : e.gauge ? e.gauge->name() : e.histogram ? e.histogram->name() : e.name;
    if (n == name) throw std::logic_error("metrics: " + name + " is registered twice");
  }
}

std::string Registry::prefixed(std::string_view name) const {
  if (prefix_.empty()) return std::string(name);
  return prefix_ + "_" + std::string(name);
}

CounterFamily& Registry::counter(std::string name, std::string help, std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  check_new(name);
  counters_.push_back(std::make_unique<CounterFamily>(std::move(name), std::move(help), std::move(labels),
                                                      [] { return std::make_unique<Counter>(); }));
  entries_.push_back({.type = Type::counter, .counter = counters_.back().get()});
  return *counters_.back();
}

GaugeFamily& Registry::gauge(std::string name, std::string help, std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  check_new(name);
  gauges_.push_back(std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(labels),
                                                  [] { return std::make_unique<Gauge>(); }));
  entries_.push_back({.type = Type::gauge, .gauge = gauges_.back().get()});
  return *gauges_.back();
}

HistogramFamily& Registry::histogram(std::string name, std::string help, std::vector<std::string> labels,
                                     std::span<const double> buckets) {
  std::lock_guard lock(mu_);
  check_new(name);
  std::vector<double> b(buckets.begin(), buckets.end());
  histograms_.push_back(std::make_unique<HistogramFamily>(
      std::move(name), std::move(help), std::move(labels), [b] { return std::make_unique<Histogram>(b); }));
  entries_.push_back({.type = Type::histogram, .histogram = histograms_.back().get()});
  return *histograms_.back();
}

void Registry::callback(Type type, std::string name, std::string help, std::function<double()> fn) {
  std::lock_guard lock(mu_);
  check_new(name);
  entries_.push_back({.type = type, .name = std::move(name), .help = std::move(help), .fn = std::move(fn)});
}

void Registry::on_collect(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  collect_hooks_.push_back(std::move(fn));
}

std::string Registry::expose() const {
  std::string out;
  out.reserve(16 * 1024);
  std::lock_guard lock(mu_);
  for (auto const& hook : collect_hooks_) hook();
  for (auto const& e : entries_) {
    if (e.fn) {
      write_header(out, e.name, e.help, e.type);
      write_sample(out, e.name, {}, {}, e.fn());
      continue;
    }
    if (e.counter) {
      auto const& f = *e.counter;
      write_header(out, f.name(), f.help(), Type::counter);
      f.each([&](auto const& values, Counter const& c) {
        write_sample(out, f.name(), f.label_names(), values, static_cast<double>(c.value()));
      });
    } else if (e.gauge) {
      auto const& f = *e.gauge;
      write_header(out, f.name(), f.help(), Type::gauge);
      f.each([&](auto const& values, Gauge const& g) { write_sample(out, f.name(), f.label_names(), values, g.value()); });
    } else if (e.histogram) {
      auto const& f = *e.histogram;
      write_header(out, f.name(), f.help(), Type::histogram);
      f.each([&](auto const& values, Histogram const& h) { write_histogram(out, f.name(), f.label_names(), values, h); });
    }
  }
  return out;
}

}  // namespace nbhub::metrics
