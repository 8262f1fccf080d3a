#pragma once
// Proxy health (kube-proxy's ProxyHealthServer) and the routes of the healthz and metrics ports.
//
// HealthState: healthy while no update is pending, or while the oldest pending update is younger
// than the timeout (kube-proxy: 2 x syncPeriod). The reconciler calls queuedUpdate() when an
// event needs a sync and updated() when a sync completed. The timeout runs on the monotonic
// clock (a wall-clock step never flips health); the times it reports are wall times.
// Threading: all methods are thread-safe (one mutex). Ownership: borrows the clock.
//
// healthzRoutes: /healthz and /livez with kube-proxy's JSON bodies and 200/503 codes, counted in
// kubeproxy_proxy_healthz_total{code} / kubeproxy_proxy_livez_total{code}. /healthz also fails
// when the node is not eligible (being deleted, or tainted ToBeDeletedByClusterAutoscaler).
// metricsRoutes: /metrics, /healthz ("ok"), /proxyMode ("ipvs"), /configz.

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include "agent/config.h"
#include "agent/http_server.h"
#include "agent/metrics.h"
#include "ipvs/clock.h"

namespace agent {

// The metrics healthzRoutes counts (registered in agent/metrics.cpp).
inline constexpr char kMetricProxyHealthz[] = "kubeproxy_proxy_healthz_total";
inline constexpr char kMetricProxyLivez[] = "kubeproxy_proxy_livez_total";

class HealthState {
 public:
  using TimePoint = ipvs::Clock::WallTime;  // what /healthz and /livez print

  // `clock` must outlive the state.
  explicit HealthState(Duration healthTimeout, const ipvs::Clock& clock = ipvs::steadyClock());

  void queuedUpdate();  // keeps the oldest pending time
  void updated();       // clears the pending time
  void setNodeEligible(bool eligible);

  struct Status {
    bool healthy = true;  // the proxy's own health, without the node
    bool nodeEligible = true;
    std::optional<TimePoint> lastUpdated;
    TimePoint now;
  };
  Status status() const;
  bool isHealthy() const { return status().healthy; }
  TimePoint now() const { return clock_.wallNow(); }

 private:
  const Duration timeout_;
  const ipvs::Clock& clock_;
  mutable std::mutex mutex_;
  std::optional<TimePoint> lastUpdated_;
  std::optional<ipvs::Clock::TimePoint> oldestPending_;
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
