#pragma once
// Proxy health (kube-proxy's ProxyHealthServer) and the routes of the healthz and metrics ports.
//
// HealthState: healthy while no update is pending, or while the oldest pending update is younger
// than the timeout (kube-proxy: 2 x syncPeriod). The reconciler calls queuedUpdate() when an
// event needs a sync and updated() when a sync completed. Threading: all methods are
// thread-safe (one mutex); the clock is injectable for tests.
//
// healthzRoutes: /healthz and /livez with kube-proxy's JSON bodies and 200/503 codes, counted in
// kubeproxy_proxy_healthz_total{code} / kubeproxy_proxy_livez_total{code}. /healthz also fails
// when the node is not eligible (being deleted, or tainted ToBeDeletedByClusterAutoscaler).
// metricsRoutes: /metrics, /healthz ("ok"), /proxyMode ("ipvs"), /configz.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "agent/config.h"
#include "agent/http_server.h"
#include "agent/metrics.h"

namespace agent {

class HealthState {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  using Clock = std::function<TimePoint()>;

  explicit HealthState(Duration healthTimeout, Clock clock = {});

  void queuedUpdate() { queuedUpdate(now()); }
  void queuedUpdate(TimePoint at);  // keeps the oldest pending time
  void updated() { updated(now()); }
  void updated(TimePoint at);  // clears the pending time
  void setNodeEligible(bool eligible);

  struct Status {
    bool healthy = true;  // the proxy's own health, without the node
    bool nodeEligible = true;
    std::optional<TimePoint> lastUpdated;
    TimePoint now;
  };
  Status status() const;
  bool isHealthy() const { return status().healthy; }
  TimePoint now() const { return clock_(); }

 private:
  const Duration timeout_;
  const Clock clock_;
  mutable std::mutex mutex_;
  std::optional<TimePoint> lastUpdated_;
  std::optional<TimePoint> oldestPending_;
  bool nodeEligible_ = true;
};

// Go's time.Time.String() in UTC: "2024-05-01 10:20:30.123456789 +0000 UTC"; nullopt prints Go's
// zero time "0001-01-01 00:00:00 +0000 UTC".
std::string formatGoTime(std::optional<std::chrono::system_clock::time_point> t);

// The healthz port (--healthz-bind-address). `health` and `metrics` must outlive the server.
HttpRoutes healthzRoutes(const HealthState& health, AgentMetrics& metrics);

// The metrics port (--metrics-bind-address). `configz` is the /configz body (configzBody()).
HttpRoutes metricsRoutes(const MetricsRegistry& registry, std::string configz);

}  // namespace agent
