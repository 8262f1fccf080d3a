#pragma once
// The load generator's counters for one run (pure: the caller measures the latencies). Each
// response is attributed to the backend named in it; a connection is attributed to the backend
// of its first response (IPVS pins a connection to one real server, so a later response from
// another backend is counted as an anomaly, never silently).
//
// JSON (toJson), every figure the report needs:
//   {"meta": {...}, "requests": N, "ok": N, "failed": N, "elapsed_s": S, "rate_per_s": R,
//    "failures": {"connect": N, "timeout": N, "reset": N, "bad_response": N, "status": N},
//    "backend_changed": N,
//    "backends": {"b1": {"requests": N, "connections": N}, ...},
//    "latency_ms": {"count", "mean", "min", "max", "p50", "p90", "p99", "p999"},
//    "cdf_ms": [[ms, fraction], ...], "flows": {"10.250.0.1:20000": "b1" | "", ...}}

#include <boost/json/object.hpp>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "bench/sched/stats.h"

namespace bench::sched {

enum class Failure { kConnect, kTimeout, kReset, kBadResponse, kStatus };

struct BackendCount {
  std::size_t requests = 0;
  std::size_t connections = 0;
};

class RunRecorder {
 public:
  // A successful request. `newConnection`: the first response on its connection.
  // `connectionBackend`: the backend of that connection's first response ("" if this is it).
  void requestOk(const std::string& backend, double latencyMs, bool newConnection,
                 const std::string& connectionBackend = {});
  void requestFailed(Failure kind);
  // Flow mode: the backend one flow reached ("" = the flow failed).
  void flow(const std::string& key, const std::string& backend);

  std::size_t ok() const { return ok_; }
  std::size_t failed() const { return failed_; }
  std::size_t done() const { return ok_ + failed_; }
  std::size_t failures(Failure kind) const;
  std::size_t backendChanged() const { return backendChanged_; }
  const std::map<std::string, BackendCount>& backends() const { return backends_; }
  const FlowMap& flows() const { return flows_; }
  // Sorts the samples (once) and summarises them.
  LatencySummary latency();

  boost::json::object toJson(const std::map<std::string, std::string>& meta, double elapsedS,
                             std::size_t cdfPointCount = 200);

 private:
  std::size_t ok_ = 0;
  std::size_t failed_ = 0;
  std::size_t backendChanged_ = 0;
  std::map<Failure, std::size_t> failures_;
  std::map<std::string, BackendCount> backends_;
  std::vector<double> latencyMs_;
  FlowMap flows_;
};

const char* failureName(Failure kind);

}  // namespace bench::sched
