#include "bench/sched/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace bench::sched {

double percentile(std::span<const double> sorted, double p) {
  if (sorted.empty()) return 0;
  const double n = static_cast<double>(sorted.size());
  const double clamped = std::clamp(p, 0.0, 100.0);
  // Rank in 1..n; a tiny tolerance keeps 99.9 % of 1000 at rank 999 despite binary rounding.
  double rank = std::ceil(clamped / 100.0 * n - 1e-9);
  rank = std::clamp(rank, 1.0, n);
  return sorted[static_cast<std::size_t>(rank) - 1];
}

LatencySummary summarize(std::vector<double>& samples) {
  LatencySummary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.count = samples.size();
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(s.count);
  s.min = samples.front();
  s.max = samples.back();
  s.p50 = percentile(samples, 50);
  s.p90 = percentile(samples, 90);
  s.p99 = percentile(samples, 99);
  s.p999 = percentile(samples, 99.9);
  return s;
}

std::vector<std::pair<double, double>> cdfPoints(std::span<const double> sorted,
                                                 std::size_t points) {
  std::vector<std::pair<double, double>> out;
  if (sorted.empty() || points == 0) return out;
  const std::size_t n = sorted.size();
  const std::size_t count = std::min(points, n);
  out.reserve(count);
  for (std::size_t i = 1; i <= count; ++i) {
    // The i-th of `count` evenly spaced ranks, the last one being n.
    const std::size_t rank = (i * n + count - 1) / count;
    out.emplace_back(sorted[rank - 1], static_cast<double>(rank) / static_cast<double>(n));
  }
  return out;
}

namespace {

double mean(std::span<const double> values) {
  if (values.empty()) return 0;
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

}  // namespace

double coefficientOfVariation(std::span<const double> values) {
  const double m = mean(values);
  if (m == 0) return 0;
  double squares = 0;
  for (double v : values) squares += (v - m) * (v - m);
  return std::sqrt(squares / static_cast<double>(values.size())) / m;
}

double maxOverMean(std::span<const double> values) {
  const double m = mean(values);
  if (m == 0) return 0;
  return *std::max_element(values.begin(), values.end()) / m;
}

std::vector<double> perUnitWeight(std::span<const double> counts, std::span<const double> weights) {
  std::vector<double> out(counts.size(), 0.0);
  for (std::size_t i = 0; i < counts.size() && i < weights.size(); ++i) {
    if (weights[i] > 0) out[i] = counts[i] / weights[i];
  }
  return out;
}

double Remap::fraction() const {
  return compared == 0 ? 0 : static_cast<double>(moved) / static_cast<double>(compared);
}

double Remap::othersFraction() const {
  const std::size_t others = compared - std::min(compared, fromRemoved);
  return others == 0 ? 0 : static_cast<double>(movedOthers) / static_cast<double>(others);
}

Remap remap(const FlowMap& before, const FlowMap& after, const std::string& removed) {
  Remap r;
  for (const auto& [flow, was] : before) {
    const auto it = after.find(flow);
    if (it == after.end()) {
      ++r.missing;
      continue;
    }
    const std::string& now = it->second;
    if (was.empty()) ++r.failedBefore;
    if (now.empty()) ++r.failedAfter;
    if (was.empty() || now.empty()) continue;
    ++r.compared;
    const bool onRemoved = !removed.empty() && was == removed;
    if (onRemoved) ++r.fromRemoved;
    if (was != now) {
      ++r.moved;
      if (!onRemoved) ++r.movedOthers;
    }
  }
  for (const auto& [flow, now] : after) {
    if (!before.contains(flow)) ++r.missing;
  }
  return r;
}

}  // namespace bench::sched
