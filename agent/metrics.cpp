#include "agent/metrics.h"

#include <string>

#include "agent/health.h"
#include "agent/healthcheck_server.h"
#include "agent/http_server.h"
#include "agent/log.h"
#include "agent/sync_reporter.h"

namespace agent {
namespace {

// kube-proxy's network programming buckets: 0.25, 0.5, 1..59 by 1, 60..115 by 5, 120..300 by 30.
std::vector<double> networkProgrammingBuckets() {
  std::vector<double> b = linearBuckets(0.25, 0.25, 2);
  for (auto part : {linearBuckets(1, 1, 59), linearBuckets(60, 5, 12), linearBuckets(120, 30, 7)}) {
    b.insert(b.end(), part.begin(), part.end());
  }
  return b;
}

// kube-proxy's metrics are ALPHA in component-base, which prefixes their help text.
std::string alpha(std::string_view help) { return "[ALPHA] " + std::string(help); }

}  // namespace

// One registry; each name is declared next to the adapter that counts it. The names still
// written here (the pending-changes gauges, netlink operations) have no counter yet.
AgentMetrics::AgentMetrics(MetricsRegistry& r)
    : syncProxyRulesDuration(r.histogram(kMetricSyncDuration,
                                         alpha("SyncProxyRules latency in seconds"),
                                         exponentialBuckets(0.001, 2, 15))),
      networkProgrammingDuration(r.histogram(
          kMetricNetworkProgrammingDuration,
          alpha("In Cluster Network Programming Latency in seconds"), networkProgrammingBuckets())),
      syncProxyRulesLastTimestamp(r.gauge(
          kMetricSyncLastTimestamp, alpha("The last time proxy rules were successfully synced"))),
      syncProxyRulesLastQueuedTimestamp(r.gauge(
          kMetricSyncLastQueuedTimestamp, alpha("The last time a sync of proxy rules was queued"))),
      endpointChangesPending(r.gauge("kubeproxy_sync_proxy_rules_endpoint_changes_pending",
                                     alpha("Pending proxy rules Endpoint changes"))),
      endpointChangesTotal(
          r.counter(kMetricEndpointChanges, alpha("Cumulative proxy rules Endpoint changes"))),
      serviceChangesPending(r.gauge("kubeproxy_sync_proxy_rules_service_changes_pending",
                                    alpha("Pending proxy rules Service changes"))),
      serviceChangesTotal(
          r.counter(kMetricServiceChanges, alpha("Cumulative proxy rules Service changes"))),
      noLocalEndpoints(
          r.gaugeFamily(kMetricNoLocalEndpoints,
                        alpha("Number of services with a Local traffic policy and no endpoints"),
                        {"traffic_policy"})),
      iptablesRestoreFailuresTotal(r.counter(kMetricIptablesRestoreFailures,
                                             alpha("Cumulative proxy iptables restore failures"))),
      proxyHealthzTotal(r.counterFamily(kMetricProxyHealthz,
                                        alpha("Cumulative proxy healthz HTTP status"), {"code"})),
      proxyLivezTotal(r.counterFamily(kMetricProxyLivez,
                                      alpha("Cumulative proxy livez HTTP status"), {"code"})),
      netlinkOperations(r.counterFamily("ipvs_agent_netlink_operations_total",
                                        "Kernel operations sent over netlink, by kind and result",
                                        {"kind", "result"})),
      rejectedObjects(r.counterFamily(kMetricRejectedObjects,
                                      "Cluster objects rejected as invalid, by resource and reason",
                                      {"resource", "reason"})),
      gracefulTerminationQueueLength(
          r.gauge(kMetricGracefulTerminationQueue,
                  "Real servers kept at weight 0 until their connections end")),
      virtualServers(r.gaugeFamily(kMetricVirtualServers,
                                   "IPVS virtual servers owned by the agent, by scheduler",
                                   {"scheduler"})),
      logErrors(r.counterFamily(kMetricLogErrors,
                                "Warning and error log lines, by component and level",
                                {"component", "level"})),
      healthCheckRequests(r.counterFamily(kMetricHealthCheckRequests,
                                          "Requests to Service health check node ports, by status",
                                          {"code"})),
      httpBindErrors(r.counterFamily(kMetricHttpBindErrors,
                                     "Failures to bind an HTTP listener, by server", {"server"})),
      failingServices(r.gauge(kMetricFailingServices,
                              "Services whose kernel operations failed, waiting for a retry")),
      failedOperations(r.counterFamily(kMetricFailedOperations,
                                       "Kernel operations that failed, by operation and error",
                                       {"operation", "error"})),
      syncPhaseDuration(r.histogramFamily(
          kMetricSyncPhaseDuration,
          "Time spent in each phase of a sync; list and wait once, before the first sync",
          {"phase"}, exponentialBuckets(0.0001, 4, 10))),
      httpRejected(r.counterFamily(
          kMetricHttpRejected,
          "HTTP requests refused and connections closed by the agent's servers, by reason",
          {"server", "reason"})) {}

Logger::ErrorHook logErrorHook(AgentMetrics& metrics) {
  return [&metrics](std::string_view component, LogLevel level) {
    metrics.logErrors.labels({component, logLevelName(level)}).inc();
  };
}

std::function<void(std::string_view reason)> httpRejectHook(AgentMetrics& metrics,
                                                            std::string server) {
  return [&metrics, server = std::move(server)](std::string_view reason) {
    metrics.httpRejected.labels({server, reason}).inc();
  };
}

}  // namespace agent
