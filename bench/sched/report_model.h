#pragma once
// The scheduler benchmark's results as the report sees them: the files one guest run exported
// (run-*.json, flows-*.json, hold-*.json, bench.env) loaded and reduced to figures with
// bench/sched/stats.h. Pure apart from loadResults(), which reads the directory.
//
// Errors: a file that cannot be parsed is skipped with a message in Results::problems (the
// report prints them); it never aborts the report.

#include <boost/json/object.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bench/sched/stats.h"

namespace bench::sched {

struct BackendFigures {
  double requests = 0;
  double connections = 0;
  double share = 0;  // of the run's answered requests, 0..1
};

struct RunFigures {
  std::string scenario;
  std::string variant;
  double requests = 0;
  double ok = 0;
  double failed = 0;
  double ratePerS = 0;
  double backendChanged = 0;
  std::map<std::string, double> failures;
  std::map<std::string, BackendFigures> backends;  // every backend of the topology, 0 if unused
  LatencySummary latency;
  std::vector<std::pair<double, double>> cdf;
  double cv = 0;           // of requests per unit weight across backends
  double maxOverMean = 0;  // of requests per unit weight
};

struct FlowPhase {
  FlowMap flows;
  double ok = 0;
  double failed = 0;
  std::string b2State;  // the drained backend's real server when the phase ran
  LatencySummary latency;
};

struct HoldFigures {
  int held = 0;          // connections held open (answered in round 0)
  int onDrained = 0;     // ... of which on the drained backend
  int survived = 0;      // ... answered again by it while it was drained
  int othersOk = 0;      // connections on other backends answered again
  int othersFailed = 0;  // connections on other backends that failed
};

struct ChurnFigures {
  std::map<std::string, FlowPhase> phases;  // before, repeat, drained, removed, restored
  std::map<std::string, Remap> remaps;      // control, drain, removal, readd, restored
  HoldFigures hold;
  bool haveHold = false;
};

struct Results {
  std::map<std::string, std::string> env;                         // bench.env
  std::vector<std::string> backends;                              // b1..bN
  std::vector<std::string> variants;                              // in the run's order
  std::vector<std::string> churnVariants;                         // the churn part's (a superset)
  std::vector<std::string> scenarios;                             // in the run's order
  std::map<std::string, std::map<std::string, RunFigures>> runs;  // scenario -> variant
  std::map<std::string, ChurnFigures> churn;                      // variant
  std::string drained = "b2";
  std::vector<std::string> problems;

  std::string envOr(const std::string& key, const std::string& fallback = {}) const;
  std::vector<double> weights(const std::string& scenario) const;
};

Results loadResults(const std::filesystem::path& dir);

// Derived figures of one run given the topology's backends and the scenario's weights.
RunFigures runFigures(const boost::json::object& run, const std::vector<std::string>& backends,
                      const std::vector<double>& weights);

// A hold log (one JSON line per round): round 0 gives the backends, round 1 the survivors.
HoldFigures holdFigures(const std::string& log, const std::string& drained);

// Remaps of the churn phases that are present (see report.md's churn table).
void computeRemaps(ChurnFigures& churn, const std::string& drained);

// Everything, as the report's JSON file.
boost::json::object resultsJson(const Results& results);

}  // namespace bench::sched
