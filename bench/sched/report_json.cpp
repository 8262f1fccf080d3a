// resultsJson(): every figure of the report as one JSON document (bench/results/schedulers.json).
#include <boost/json.hpp>

#include "bench/sched/report_model.h"

namespace bench::sched {
namespace {

namespace json = boost::json;

json::object latencyJson(const LatencySummary& s) {
  return {{"count", s.count}, {"mean", s.mean}, {"min", s.min}, {"max", s.max},
          {"p50", s.p50},     {"p90", s.p90},   {"p99", s.p99}, {"p999", s.p999}};
}

json::object runJson(const RunFigures& f) {
  json::object o;
  o["requests"] = f.requests;
  o["ok"] = f.ok;
  o["failed"] = f.failed;
  json::object failures;
  for (const auto& [k, v] : f.failures) failures[k] = v;
  o["failures"] = std::move(failures);
  o["backend_changed"] = f.backendChanged;
  o["rate_per_s"] = f.ratePerS;
  json::object backends;
  for (const auto& [name, b] : f.backends) {
    backends[name] = {{"requests", b.requests}, {"connections", b.connections}, {"share", b.share}};
  }
  o["backends"] = std::move(backends);
  o["cv_per_weight"] = f.cv;
  o["max_over_mean_per_weight"] = f.maxOverMean;
  o["latency_ms"] = latencyJson(f.latency);
  json::array cdf;
  for (const auto& [v, p] : f.cdf) cdf.push_back(json::array{v, p});
  o["cdf_ms"] = std::move(cdf);
  return o;
}

json::object remapJson(const Remap& r) {
  return {{"compared", r.compared},
          {"moved", r.moved},
          {"fraction", r.fraction()},
          {"from_removed", r.fromRemoved},
          {"moved_others", r.movedOthers},
          {"others_fraction", r.othersFraction()},
          {"failed_before", r.failedBefore},
          {"failed_after", r.failedAfter},
          {"missing", r.missing}};
}

json::object churnJson(const ChurnFigures& c) {
  json::object o;
  json::object phases;
  for (const auto& [name, p] : c.phases) {
    json::object flows;
    for (const auto& [k, v] : p.flows) flows[k] = v;
    phases[name] = {{"ok", p.ok},
                    {"failed", p.failed},
                    {"drained_backend_state", p.b2State},
                    {"latency_ms", latencyJson(p.latency)},
                    {"flows", std::move(flows)}};
  }
  o["phases"] = std::move(phases);
  json::object remaps;
  for (const auto& [name, r] : c.remaps) remaps[name] = remapJson(r);
  o["remap"] = std::move(remaps);
  if (c.haveHold) {
    o["held_connections"] = {{"held", c.hold.held},
                             {"on_drained", c.hold.onDrained},
                             {"survived_drain", c.hold.survived},
                             {"others_answered", c.hold.othersOk},
                             {"others_failed", c.hold.othersFailed}};
  }
  return o;
}

}  // namespace

json::object resultsJson(const Results& r) {
  json::object out;
  json::object env;
  for (const auto& [k, v] : r.env) env[k] = v;
  out["environment"] = std::move(env);
  json::array backends;
  for (const auto& b : r.backends) backends.push_back(json::string(b));
  out["backends"] = std::move(backends);
  json::object scenarios;
  for (const auto& [scenario, runs] : r.runs) {
    json::object s;
    s["description"] = r.envOr("scenario." + scenario);
    s["load"] = r.envOr("load." + scenario);
    json::array weights;
    for (double w : r.weights(scenario)) weights.push_back(w);
    s["weights"] = std::move(weights);
    json::object variants;
    for (const auto& [variant, f] : runs) variants[variant] = runJson(f);
    s["schedulers"] = std::move(variants);
    scenarios[scenario] = std::move(s);
  }
  out["scenarios"] = std::move(scenarios);
  json::object churn;
  churn["drained_backend"] = r.drained;
  for (const auto& [variant, c] : r.churn) churn[variant] = churnJson(c);
  out["churn"] = std::move(churn);
  json::array problems;
  for (const auto& p : r.problems) problems.push_back(json::string(p));
  out["problems"] = std::move(problems);
  return out;
}

}  // namespace bench::sched
