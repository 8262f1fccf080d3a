#pragma once
// Statistics of the scheduler comparison (pure: no I/O, no clock), shared by the load generator
// (latency percentiles of one run) and the report writer (spread across backends, remapping of
// client flows between two runs). tests/unit/bench/ checks every function on known inputs.

#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace bench::sched {

// Nearest-rank percentile of ascending `sorted` samples: the smallest sample such that at least
// p % of all samples are <= it (p in [0, 100]; p = 0 gives the minimum). 0 for no samples.
double percentile(std::span<const double> sorted, double p);

struct LatencySummary {
  std::size_t count = 0;
  double mean = 0;
  double min = 0;
  double max = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double p999 = 0;
};

// Sorts `samples` in place and summarises them (all zero for no samples).
LatencySummary summarize(std::vector<double>& samples);

// Up to `points` (value, cumulative fraction) pairs of the empirical CDF of ascending `sorted`
// samples, evenly spaced in rank and always ending at (max, 1.0). For plotting.
std::vector<std::pair<double, double>> cdfPoints(std::span<const double> sorted,
                                                 std::size_t points);

// Population coefficient of variation (standard deviation / mean) of `values`; 0 when there are
// no values or the mean is 0. 0 means a perfectly even spread.
double coefficientOfVariation(std::span<const double> values);

// Largest value / mean; 1 means perfectly even, N means everything on one of N. 0 when the mean
// is 0.
double maxOverMean(std::span<const double> values);

// counts[i] / weights[i] (a backend's load per unit of capacity). A weight <= 0 gives 0.
std::vector<double> perUnitWeight(std::span<const double> counts, std::span<const double> weights);

// Client flow -> backend name, as the load generator's flow mode records it. A failed flow has
// the backend name "" (it is counted separately, never as a move).
using FlowMap = std::map<std::string, std::string>;

struct Remap {
  std::size_t compared = 0;     // flows answered in both runs
  std::size_t moved = 0;        // ... whose backend differs
  std::size_t fromRemoved = 0;  // flows that were on `removed` in the first run (they must move)
  std::size_t movedOthers = 0;  // moved although their backend was not `removed`
  std::size_t failedBefore = 0;
  std::size_t failedAfter = 0;
  std::size_t missing = 0;  // flows present in only one of the two maps

  double fraction() const;        // moved / compared (0 when nothing compared)
  double othersFraction() const;  // movedOthers / (compared - fromRemoved): ideal 0 for a
                                  // consistent hash
};

// Compares two runs of the same flows. `removed` names the backend taken out between them ("" for
// none); flows on it in `before` count in fromRemoved (and in moved, when answered after).
Remap remap(const FlowMap& before, const FlowMap& after, const std::string& removed = {});

}  // namespace bench::sched
