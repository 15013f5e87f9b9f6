#pragma once
// Prometheus metrics: counters, gauges and histograms with fixed label names, kept in a
// Registry and written in the text exposition format 0.0.4 (exposition.hpp).
//
// Hot path. Recording is lock-free: a child (one label set) is a few relaxed atomics, and a
// caller on a hot path looks its child up once and keeps the reference (children live as long
// as the registry and never move). Looking a child up by label values takes the family's
// mutex; that is for code that records a few times per request at most.
//
// Cardinality. Label values must come from a fixed set (flat outcome enums, route patterns,
// HTTP methods and status codes), never from users: no label per user, per path or per
// token. A family refuses children beyond `kMaxChildren` and counts them in one overflow
// child whose label values are all "other", so a bug cannot grow a scrape without bound.
//
// Thread-safety: every method may be called from any thread.
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nbhub::metrics {

enum class Type { counter, gauge, histogram };
std::string_view to_string(Type t);

// A monotonically increasing count (requests, bytes, failures).
class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

// A value that goes up and down (running servers, open WebSockets).
class Gauge {
 public:
  void set(double v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void inc(double d = 1) noexcept { v_.fetch_add(d, std::memory_order_relaxed); }
  void dec(double d = 1) noexcept { v_.fetch_sub(d, std::memory_order_relaxed); }
  double value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Observations counted into fixed buckets (upper bounds, ascending; +Inf is implicit).
class Histogram {
 public:
  explicit Histogram(std::span<const double> bounds);
  void observe(double v) noexcept;

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  // Count is taken from the buckets, so `_count` always equals the `+Inf` bucket even while
  // other threads observe; `sum` may lag one observation behind.
  Snapshot snapshot() const;
  std::span<const double> bounds() const noexcept { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

// Prometheus client libraries' default buckets (Python's Histogram.DEFAULT_BUCKETS), which
// JupyterHub uses for most of its histograms.
std::span<const double> default_buckets();

inline constexpr std::size_t kMaxChildren = 2000;

// One metric name with its label names and a child per label-value tuple.
template <class Child>
class Family {
 public:
  using Maker = std::function<std::unique_ptr<Child>()>;
  Family(std::string name, std::string help, std::vector<std::string> label_names, Maker make)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)),
        make_(std::move(make)) {}

  // The child for these label values (as many as label names, in order); created on first use.
  Child& labels(std::initializer_list<std::string_view> values) {
    return labels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  Child& labels(std::span<const std::string_view> values);
  // The child of a family without labels.
  Child& get() { return labels(std::span<const std::string_view>{}); }

  std::string const& name() const { return name_; }
  std::string const& help() const { return help_; }
  std::vector<std::string> const& label_names() const { return label_names_; }
  // Children in label-value order, for the exposition.
  void each(std::function<void(std::vector<std::string> const&, Child const&)> const& fn) const;

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  Maker make_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Child>, std::less<>> children_;  // GUARDED_BY(mu_)
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  // `prefix` is prepended to names registered with `prefixed = true` ("jupyterhub" gives
  // "jupyterhub_running_servers"); nbhub's own and process_* metrics are not prefixed.
  explicit Registry(std::string prefix = "") : prefix_(std::move(prefix)) {}
  Registry(Registry const&) = delete;
  Registry& operator=(Registry const&) = delete;

  // Registration happens at startup; names must be unique (a duplicate throws).
  CounterFamily& counter(std::string name, std::string help, std::vector<std::string> labels = {});
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> labels = {});
  HistogramFamily& histogram(std::string name, std::string help, std::vector<std::string> labels = {},
                             std::span<const double> buckets = default_buckets());
  // A value read when scraped (process RSS, a count another object keeps). `fn` runs on the
  // scraping thread, must be cheap and must not block.
  void callback(Type type, std::string name, std::string help, std::function<double()> fn);

  // Runs at the start of every expose(), before any value is read: for values that are cheaper
  // to read together (one /proc read for all process_* metrics). Same rules as callback().
  void on_collect(std::function<void()> fn);

  // The name with the configured prefix: prefixed("running_servers").
  std::string prefixed(std::string_view name) const;

  // The text exposition format 0.0.4 of every metric, in registration order.
  std::string expose() const;
  // For the response header.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Entry {
    Type type;
    CounterFamily* counter = nullptr;
    GaugeFamily* gauge = nullptr;
    HistogramFamily* histogram = nullptr;
    std::string name, help;  // callbacks
    std::function<double()> fn;
  };
  void check_new(std::string const& name);

  std::string prefix_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // GUARDED_BY(mu_); the families below are owned here
  std::vector<std::function<void()>> collect_hooks_;  // GUARDED_BY(mu_)
  std::vector<std::unique_ptr<CounterFamily>> counters_;
  std::vector<std::unique_ptr<GaugeFamily>> gauges_;
  std::vector<std::unique_ptr<HistogramFamily>> histograms_;
};

// ---- template definitions ---------------------------------------------------------------

template <class Child>
Child& Family<Child>::labels(std::span<const std::string_view> values) {
  std::vector<std::string> key;
  key.reserve(label_names_.size());
  for (std::size_t i = 0; i < label_names_.size(); ++i)
    key.emplace_back(i < values.size() ? values[i] : std::string_view{});
  std::lock_guard lock(mu_);
  auto it = children_.find(key);
  if (it != children_.end()) return *it->second;
  if (children_.size() >= kMaxChildren) {
    std::vector<std::string> other(label_names_.size(), "other");
    auto& slot = children_[other];
    if (!slot) slot = make_();
    return *slot;
  }
  auto& slot = children_[std::move(key)];
  slot = make_();
  return *slot;
}

template <class Child>
void Family<Child>::each(std::function<void(std::vector<std::string> const&, Child const&)> const& fn) const {
  std::lock_guard lock(mu_);
  for (auto const& [k, c] : children_) fn(k, *c);
}

}  // namespace nbhub::metrics
