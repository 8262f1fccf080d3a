#pragma once
// The agent's metrics: kube-proxy's IPVS-mode names (so existing dashboards keep working) and
// ipvs-agent's own, registered once and exposed as plain references for cheap updates.
//
// Threading: every handle is thread-safe (see metrics_registry.h). For labelled families,
// look a series up once (e.g. `m.netlinkOperations.labels({"add_service", "ok"})`) and keep the
// reference when it is updated on a hot path.
// Also as kube-proxy: client_golang's process_* (agent/metrics_process.h), client-go's
// rest_client_requests_total and rest_client_request_duration_seconds (counted by
// RestClientMetrics, the k8swatch client's RequestObserver) and kubernetes_build_info.
// Differences from kube-proxy: no `ip_family` label (one reconciler serves both families), and no
// Go runtime (go_*) or other client-go metrics.

#include <functional>
#include <string>
#include <string_view>

#include "agent/log.h"
#include "agent/metrics_registry.h"
#include "k8swatch/request_observer.h"

namespace agent {

struct AgentMetrics {
  explicit AgentMetrics(MetricsRegistry& registry);

  // --- kube-proxy (pkg/proxy/metrics), IPVS mode ---
  Histogram& syncProxyRulesDuration;         // kubeproxy_sync_proxy_rules_duration_seconds
  Histogram& networkProgrammingDuration;     // kubeproxy_network_programming_duration_seconds
  Gauge& syncProxyRulesLastTimestamp;        // ..._last_timestamp_seconds (unix seconds)
  Gauge& syncProxyRulesLastQueuedTimestamp;  // ..._last_queued_timestamp_seconds
  Gauge& endpointChangesPending;             // ..._endpoint_changes_pending
  Counter& endpointChangesTotal;             // ..._endpoint_changes_total
  Gauge& serviceChangesPending;              // ..._service_changes_pending
  Counter& serviceChangesTotal;              // ..._service_changes_total
  GaugeFamily& noLocalEndpoints;             // ..._no_local_endpoints_total{traffic_policy}
                                  // a gauge upstream despite the name; "internal"/"external"
  Counter& iptablesRestoreFailuresTotal;  // ..._iptables_restore_failures_total
  CounterFamily& proxyHealthzTotal;       // kubeproxy_proxy_healthz_total{code}
  CounterFamily& proxyLivezTotal;         // kubeproxy_proxy_livez_total{code}

  // --- client-go and component-base, as kube-proxy exports them ---
  CounterFamily& restClientRequests;           // rest_client_requests_total{code,method,host}
  HistogramFamily& restClientRequestDuration;  // rest_client_request_duration_seconds{verb,host}
  GaugeFamily& buildInfo;                      // kubernetes_build_info{major,minor,...} 1

  // --- ipvs-agent ---
  CounterFamily& netlinkOperations;       // ipvs_agent_netlink_operations_total{kind,result}
  CounterFamily& rejectedObjects;         // ipvs_agent_rejected_objects_total{resource,reason}
  Gauge& gracefulTerminationQueueLength;  // ipvs_agent_graceful_termination_queue_length
  GaugeFamily& virtualServers;            // ipvs_agent_virtual_servers{scheduler}
  CounterFamily& logErrors;               // ipvs_agent_log_errors_total{component,level}
  CounterFamily& healthCheckRequests;     // ipvs_agent_health_check_requests_total{code}
  CounterFamily& httpBindErrors;          // ipvs_agent_http_bind_errors_total{server}
  // Counted by SyncReporter (agent/sync_reporter.cpp):
  Gauge& failingServices;              // ipvs_agent_failing_services
  CounterFamily& failedOperations;     // ipvs_agent_failed_operations_total{operation,error}
  Counter& resyncDrift;                // ipvs_agent_resync_drift_total
  HistogramFamily& syncPhaseDuration;  // ipvs_agent_sync_phase_duration_seconds{phase}
  // Counted by the HTTP servers, through httpRejectHook():
  CounterFamily& httpRejected;  // ipvs_agent_http_rejected_total{server,reason}
};

// Counts the API client's requests (WatcherOptions::observer) in the rest_client_* families.
class RestClientMetrics final : public k8swatch::RequestObserver {
 public:
  explicit RestClientMetrics(AgentMetrics& metrics) : metrics_(metrics) {}
  void requestDone(std::string_view method, std::string_view host, std::string_view code,
                   std::chrono::duration<double> latency) override;

 private:
  AgentMetrics& metrics_;
};

// Counts Logger warn/error lines in ipvs_agent_log_errors_total:
//   logger.setErrorHook(logErrorHook(metrics));
Logger::ErrorHook logErrorHook(AgentMetrics& metrics);

// Counts an HTTP server's refusals (HttpLimits::onRejected) in ipvs_agent_http_rejected_total.
std::function<void(std::string_view reason)> httpRejectHook(AgentMetrics& metrics,
                                                            std::string server);

}  // namespace agent
