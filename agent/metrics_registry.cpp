#include "agent/metrics_registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <stdexcept>
#include <type_traits>

namespace agent {
namespace {

void atomicAdd(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

std::string escapeHelp(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escapeLabelValue(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string_view typeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// {a="1",b="2"} for the sorted names and values, plus an optional trailing le label.
std::string labelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     std::string_view le = {}) {
  if (names.empty() && le.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i] + "=\"" + escapeLabelValue(values[i]) + '"';
  }
  if (!le.empty()) {
    if (!names.empty()) out += ',';
    out += "le=\"" + std::string(le) + '"';
  }
  out += '}';
  return out;
}

}  // namespace

std::string formatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[64];
  const auto sci = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string scientific(buf, sci.ptr);
  const int exponent = std::atoi(scientific.c_str() + scientific.find('e') + 1);
  // strconv/ftoa.go: with the shortest precision, %e is used when exp < -4 || exp >= 6
  // (1e+06, 1.7e+09), %f otherwise (100000, 0.001).
  if (exponent < -4 || exponent >= 6) return scientific;
  const auto fixed = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, fixed.ptr);
}

void Counter::inc(double delta) {
  if (delta > 0) atomicAdd(value_, delta);
}

void Gauge::add(double delta) { atomicAdd(value_, delta); }

Histogram::Histogram(std::vector<double> upperBounds)
    : bounds_(std::move(upperBounds)), counts_(bounds_.size() + 1, 0) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  bounds_.erase(
      std::remove_if(bounds_.begin(), bounds_.end(), [](double b) { return std::isinf(b); }),
      bounds_.end());
  counts_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double v) {
  // Buckets are "less than or equal": the first bound >= v.
  const auto index = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                              bounds_.begin());
  std::lock_guard lock(mutex_);
  ++counts_[index];
  sum_ += v;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.upperBounds = bounds_;
  std::lock_guard lock(mutex_);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    running += counts_[i];
    s.cumulativeCounts.push_back(running);
  }
  s.count = running;
  s.sum = sum_;
  return s;
}

std::vector<double> exponentialBuckets(double start, double factor, int count) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i, start *= factor) out.push_back(start);
  return out;
}

std::vector<double> linearBuckets(double start, double width, int count) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i, start += width) out.push_back(start);
  return out;
}

template <class T>
MetricFamily<T>::MetricFamily(std::vector<std::string> labelNames, std::vector<double> buckets)
    : labelNames_(std::move(labelNames)), order_(labelNames_.size()), buckets_(std::move(buckets)) {
  std::iota(order_.begin(), order_.end(), std::size_t{0});
  std::sort(order_.begin(), order_.end(),
            [&](std::size_t a, std::size_t b) { return labelNames_[a] < labelNames_[b]; });
}

template <class T>
std::vector<std::string> MetricFamily<T>::sortedKey(const std::vector<std::string>& values) const {
  std::vector<std::string> key;
  key.reserve(order_.size());
  for (std::size_t declared : order_) {
    key.push_back(declared < values.size() ? values[declared] : std::string());
  }
  return key;
}

template <class T>
T& MetricFamily<T>::labels(std::initializer_list<std::string_view> values) {
  return labels(std::vector<std::string>(values.begin(), values.end()));
}

template <class T>
T& MetricFamily<T>::labels(const std::vector<std::string>& values) {
  auto key = sortedKey(values);
  std::lock_guard lock(mutex_);
  auto& slot = series_[std::move(key)];
  if (!slot) {
    if constexpr (std::is_same_v<T, Histogram>) {
      slot = std::make_unique<Histogram>(buckets_);
    } else {
      slot = std::make_unique<T>();
    }
  }
  return *slot;
}

template class MetricFamily<Counter>;
template class MetricFamily<Gauge>;
template class MetricFamily<Histogram>;

struct MetricsRegistry::Entry {
  std::string help;
  MetricType type;
  bool labelled;
  std::unique_ptr<CounterFamily> counters;
  std::unique_ptr<GaugeFamily> gauges;
  std::unique_ptr<HistogramFamily> histograms;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Entry& MetricsRegistry::entry(const std::string& name, const std::string& help,
                                               MetricType type, std::vector<std::string> labelNames,
                                               std::vector<double> buckets) {
  std::lock_guard lock(mutex_);
  auto& slot = entries_[name];
  if (slot) {
    if (slot->type != type || slot->labelled != !labelNames.empty()) {
      throw std::logic_error("metric " + name + " registered twice with different types");
    }
    return *slot;
  }
  slot = std::make_unique<Entry>();
  slot->help = help;
  slot->type = type;
  slot->labelled = !labelNames.empty();
  switch (type) {
    case MetricType::kCounter:
      slot->counters.reset(new CounterFamily(std::move(labelNames), {}));
      break;
    case MetricType::kGauge:
      slot->gauges.reset(new GaugeFamily(std::move(labelNames), {}));
      break;
    case MetricType::kHistogram:
      slot->histograms.reset(new HistogramFamily(std::move(labelNames), std::move(buckets)));
      break;
  }
  return *slot;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help) {
  return entry(name, help, MetricType::kCounter, {}, {}).counters->labels({});
}
Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help) {
  return entry(name, help, MetricType::kGauge, {}, {}).gauges->labels({});
}
Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      std::vector<double> buckets) {
  return entry(name, help, MetricType::kHistogram, {}, std::move(buckets)).histograms->labels({});
}
CounterFamily& MetricsRegistry::counterFamily(const std::string& name, const std::string& help,
                                              std::vector<std::string> labelNames) {
  return *entry(name, help, MetricType::kCounter, std::move(labelNames), {}).counters;
}
GaugeFamily& MetricsRegistry::gaugeFamily(const std::string& name, const std::string& help,
                                          std::vector<std::string> labelNames) {
  return *entry(name, help, MetricType::kGauge, std::move(labelNames), {}).gauges;
}
HistogramFamily& MetricsRegistry::histogramFamily(const std::string& name, const std::string& help,
                                                  std::vector<std::string> labelNames,
                                                  std::vector<double> buckets) {
  return *entry(name, help, MetricType::kHistogram, std::move(labelNames), std::move(buckets))
              .histograms;
}

namespace {

std::vector<std::string> sortedNames(const std::vector<std::string>& names,
                                     const std::vector<std::size_t>& order) {
  std::vector<std::string> out;
  for (std::size_t i : order) out.push_back(names[i]);
  return out;
}

void renderHistogram(std::string& out, const std::string& name,
                     const std::vector<std::string>& names, const std::vector<std::string>& values,
                     const Histogram& h) {
  const auto s = h.snapshot();
  for (std::size_t i = 0; i < s.upperBounds.size(); ++i) {
    out += name + "_bucket" + labelSet(names, values, formatMetricValue(s.upperBounds[i])) + ' ' +
           std::to_string(s.cumulativeCounts[i]) + '\n';
  }
  out += name + "_bucket" + labelSet(names, values, "+Inf") + ' ' + std::to_string(s.count) + '\n';
  out += name + "_sum" + labelSet(names, values) + ' ' + formatMetricValue(s.sum) + '\n';
  out += name + "_count" + labelSet(names, values) + ' ' + std::to_string(s.count) + '\n';
}

}  // namespace

void MetricsRegistry::addCollector(std::function<void()> collect) {
  std::lock_guard lock(collectorsMutex_);
  collectors_.push_back(std::move(collect));
}

std::string MetricsRegistry::render() const {
  {
    std::lock_guard lock(collectorsMutex_);
    for (const auto& collect : collectors_) collect();
  }
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& item : entries_) {
    const std::string& name = item.first;  // not a structured binding: clang 14 cannot capture one
    const auto& e = item.second;
    auto renderFamily = [&](const auto& family, auto&& line) {
      std::lock_guard familyLock(family.mutex_);
      if (family.series_.empty()) return;
      out += "# HELP " + name + ' ' + escapeHelp(e->help) + '\n';
      out += "# TYPE " + name + ' ' + std::string(typeName(e->type)) + '\n';
      const auto names = sortedNames(family.labelNames_, family.order_);
      for (const auto& [values, metric] : family.series_) line(names, values, *metric);
    };
    auto scalar = [&](const auto& names, const auto& values, const auto& metric) {
      out += name + labelSet(names, values) + ' ' + formatMetricValue(metric.value()) + '\n';
    };
    switch (e->type) {
      case MetricType::kCounter:
        renderFamily(*e->counters, scalar);
        break;
      case MetricType::kGauge:
        renderFamily(*e->gauges, scalar);
        break;
      case MetricType::kHistogram:
        renderFamily(*e->histograms, [&](const auto& names, const auto& values, const auto& h) {
          renderHistogram(out, name, names, values, h);
        });
        break;
    }
  }
  return out;
}

}  // namespace agent
