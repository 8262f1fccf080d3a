#pragma once
// A small Prometheus registry: counters, gauges and fixed-bucket histograms, with or without
// labels, rendered in the text exposition format 0.0.4.
//
// Threading: everything is thread-safe. Updating a metric through a held reference is one
// atomic operation (histograms take a short per-series lock); looking up a labelled series takes
// the family's lock, so hot paths should look a series up once and keep the reference.
// Ownership: the registry owns every family and series; references stay valid for its lifetime.
// Output: families sorted by name, series sorted by label values, label names sorted, as
// client_golang does. A labelled family with no series yet is not printed at all.
// Values are printed as Go's strconv.FormatFloat(v, 'g', -1, 64): 5, 0.25, 1.7e+09, +Inf.

#include <atomic>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace agent {

class Counter {
 public:
  void inc(double delta = 1.0);  // negative deltas are ignored: counters only go up
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double delta);
  void inc() { add(1.0); }
  void dec() { add(-1.0); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upperBounds);  // sorted, without +Inf
  void observe(double v);

  struct Snapshot {
    std::vector<double> upperBounds;
    std::vector<std::uint64_t> cumulativeCounts;  // one per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative; last is +Inf
  double sum_ = 0;
};

// Bucket helpers, as client_golang's.
std::vector<double> exponentialBuckets(double start, double factor, int count);
std::vector<double> linearBuckets(double start, double width, int count);

enum class MetricType { kCounter, kGauge, kHistogram };

// One metric name with its label names; series are created on first use.
template <class T>
class MetricFamily {
 public:
  // Label values in the order the label names were given. A wrong number of values is a
  // programming error; it is padded with "" or truncated rather than crashing.
  T& labels(std::initializer_list<std::string_view> values);
  T& labels(const std::vector<std::string>& values);

 private:
  friend class MetricsRegistry;
  MetricFamily(std::vector<std::string> labelNames, std::vector<double> buckets);
  std::vector<std::string> sortedKey(const std::vector<std::string>& values) const;

  std::vector<std::string> labelNames_;  // as declared
  std::vector<std::size_t> order_;       // declared index of each sorted label name
  std::vector<double> buckets_;          // histograms only
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> series_;  // key: values by sorted name
};

using CounterFamily = MetricFamily<Counter>;
using GaugeFamily = MetricFamily<Gauge>;
using HistogramFamily = MetricFamily<Histogram>;

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registering a name twice returns the first registration if the type matches; a clash of
  // types is a programming error and throws std::logic_error (at start-up, where it is done).
  Counter& counter(const std::string& name, const std::string& help);
  Gauge& gauge(const std::string& name, const std::string& help);
  Histogram& histogram(const std::string& name, const std::string& help,
                       std::vector<double> buckets);
  CounterFamily& counterFamily(const std::string& name, const std::string& help,
                               std::vector<std::string> labelNames);
  GaugeFamily& gaugeFamily(const std::string& name, const std::string& help,
                           std::vector<std::string> labelNames);
  HistogramFamily& histogramFamily(const std::string& name, const std::string& help,
                                   std::vector<std::string> labelNames,
                                   std::vector<double> buckets);

  // `collect` runs at the start of every render(), to refresh values read from elsewhere (the
  // process_* gauges from /proc). It must not call render().
  void addCollector(std::function<void()> collect);

  std::string render() const;  // text format 0.0.4
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Entry;
  Entry& entry(const std::string& name, const std::string& help, MetricType type,
               std::vector<std::string> labelNames, std::vector<double> buckets);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
  mutable std::mutex collectorsMutex_;
  std::vector<std::function<void()>> collectors_;
};

// Go's strconv.FormatFloat(v, 'g', -1, 64), with +Inf/-Inf/NaN as Prometheus spells them.
std::string formatMetricValue(double v);

}  // namespace agent
