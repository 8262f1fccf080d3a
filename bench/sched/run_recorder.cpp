#include "bench/sched/run_recorder.h"

#include <boost/json.hpp>

namespace bench::sched {

const char* failureName(Failure kind) {
  switch (kind) {
    case Failure::kConnect:
      return "connect";
    case Failure::kTimeout:
      return "timeout";
    case Failure::kReset:
      return "reset";
    case Failure::kBadResponse:
      return "bad_response";
    case Failure::kStatus:
      return "status";
  }
  return "unknown";
}

void RunRecorder::requestOk(const std::string& backend, double latencyMs, bool newConnection,
                            const std::string& connectionBackend) {
  ++ok_;
  auto& b = backends_[backend];
  ++b.requests;
  if (newConnection) ++b.connections;
  if (!newConnection && !connectionBackend.empty() && connectionBackend != backend) {
    ++backendChanged_;
  }
  latencyMs_.push_back(latencyMs);
}

void RunRecorder::requestFailed(Failure kind) {
  ++failed_;
  ++failures_[kind];
}

void RunRecorder::flow(const std::string& key, const std::string& backend) {
  flows_[key] = backend;
}

std::size_t RunRecorder::failures(Failure kind) const {
  const auto it = failures_.find(kind);
  return it == failures_.end() ? 0 : it->second;
}

LatencySummary RunRecorder::latency() { return summarize(latencyMs_); }

boost::json::object RunRecorder::toJson(const std::map<std::string, std::string>& meta,
                                        double elapsedS, std::size_t cdfPointCount) {
  boost::json::object out;
  boost::json::object m;
  for (const auto& [k, v] : meta) m[k] = v;
  out["meta"] = std::move(m);
  out["requests"] = done();
  out["ok"] = ok_;
  out["failed"] = failed_;
  out["elapsed_s"] = elapsedS;
  out["rate_per_s"] = elapsedS > 0 ? static_cast<double>(done()) / elapsedS : 0.0;
  boost::json::object f;
  for (auto kind : {Failure::kConnect, Failure::kTimeout, Failure::kReset, Failure::kBadResponse,
                    Failure::kStatus}) {
    f[failureName(kind)] = failures(kind);
  }
  out["failures"] = std::move(f);
  out["backend_changed"] = backendChanged_;
  boost::json::object b;
  for (const auto& [name, c] : backends_) {
    b[name] = {{"requests", c.requests}, {"connections", c.connections}};
  }
  out["backends"] = std::move(b);
  const LatencySummary s = latency();
  out["latency_ms"] = {{"count", s.count}, {"mean", s.mean}, {"min", s.min}, {"max", s.max},
                       {"p50", s.p50},     {"p90", s.p90},   {"p99", s.p99}, {"p999", s.p999}};
  boost::json::array cdf;
  for (const auto& [v, frac] : cdfPoints(latencyMs_, cdfPointCount)) {
    cdf.push_back(boost::json::array{v, frac});
  }
  out["cdf_ms"] = std::move(cdf);
  if (!flows_.empty()) {
    boost::json::object fl;
    for (const auto& [k, v] : flows_) fl[k] = v;
    out["flows"] = std::move(fl);
  }
  return out;
}

}  // namespace bench::sched
