#include "agent/metrics.h"

#include <string>

#include "agent/flags.h"
#include "agent/health.h"
#include "agent/healthcheck_server.h"
#include "agent/http_server.h"
#include "agent/log.h"
#include "agent/metrics_process.h"
#include "agent/sync_reporter.h"

namespace agent {
namespace {

// kube-proxy's network programming buckets: 0, 0.25, 0.5, 1..59 by 1, 60..115 by 5, 120..300 by
// 30. The 0 comes from component-base's MergeBuckets, which starts from a one-element slice.
std::vector<double> networkProgrammingBuckets() {
  std::vector<double> b = {0};
  for (double v : linearBuckets(0.25, 0.25, 2)) b.push_back(v);
  for (auto part : {linearBuckets(1, 1, 59), linearBuckets(60, 5, 12), linearBuckets(120, 30, 7)}) {
    b.insert(b.end(), part.begin(), part.end());
  }
  return b;
}

// kube-proxy's metrics are ALPHA in component-base, which prefixes their help text.
std::string alpha(std::string_view help) { return "[ALPHA] " + std::string(help); }

// client-go's rest_client_request_duration_seconds buckets.
const std::vector<double> kRestClientBuckets = {0.005, 0.025, 0.1, 0.25, 0.5,  1.0,
                                                2.0,   4.0,   8.0, 15.0, 30.0, 60.0};

#if defined(__clang__)
constexpr const char* kCompiler = "clang " __clang_version__;
#elif defined(__GNUC__)
constexpr const char* kCompiler = "gcc " __VERSION__;
#else
constexpr const char* kCompiler = "unknown";
#endif

#if defined(__x86_64__)
constexpr const char* kPlatform = "linux/amd64";
#elif defined(__aarch64__)
constexpr const char* kPlatform = "linux/arm64";
#else
constexpr const char* kPlatform = "linux/unknown";
#endif

// kubernetes_build_info describes ipvs-agent, not Kubernetes: its own version in major, minor and
// git_version; "unknown" where the build records nothing (commit, tree state, date: the build
// stays reproducible); go_version "none", as nothing here is Go.
void setBuildInfo(GaugeFamily& info) {
  const std::string version(kAgentVersion);
  const auto dot = version.find('.');
  const auto dot2 = version.find('.', dot + 1);
  info.labels({version.substr(0, dot), version.substr(dot + 1, dot2 - dot - 1), "v" + version,
               "unknown", "unknown", "unknown", "none", kCompiler, kPlatform})
      .set(1);
}

}  // namespace

// One registry; each name is declared next to the adapter that counts it.
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
      endpointChangesPending(
          r.gauge(kMetricEndpointChangesPending, alpha("Pending proxy rules Endpoint changes"))),
      endpointChangesTotal(
          r.counter(kMetricEndpointChanges, alpha("Cumulative proxy rules Endpoint changes"))),
      serviceChangesPending(
          r.gauge(kMetricServiceChangesPending, alpha("Pending proxy rules Service changes"))),
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
      restClientRequests(r.counterFamily(
          "rest_client_requests_total",
          alpha("Number of HTTP requests, partitioned by status code, method, and host."),
          {"code", "method", "host"})),
      restClientRequestDuration(
          r.histogramFamily("rest_client_request_duration_seconds",
                            alpha("Request latency in seconds. Broken down by verb, and host."),
                            {"verb", "host"}, kRestClientBuckets)),
      buildInfo(r.gaugeFamily(
          "kubernetes_build_info",
          alpha("A metric with a constant '1' value labeled by major, minor, git version, git "
                "commit, git tree state, build date, Go version, and compiler from which "
                "Kubernetes was built, and platform on which it is running."),
          {"major", "minor", "git_version", "git_commit", "git_tree_state", "build_date",
           "go_version", "compiler", "platform"})),
      netlinkOperations(r.counterFamily(kMetricNetlinkOperations,
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
      resyncDrift(r.counter(kMetricResyncDrift,
                            "Kernel objects full resyncs found changed behind the agent's back "
                            "(virtual servers, ipset members, kube-ipvs0 addresses), repaired")),
      syncPhaseDuration(r.histogramFamily(
          kMetricSyncPhaseDuration,
          "Time spent in each phase of a sync; list and wait once, before the first sync",
          {"phase"}, exponentialBuckets(0.0001, 4, 10))),
      httpRejected(r.counterFamily(
          kMetricHttpRejected,
          "HTTP requests refused and connections closed by the agent's servers, by reason",
          {"server", "reason"})) {
  setBuildInfo(buildInfo);
  registerProcessMetrics(r);
}

void RestClientMetrics::requestDone(std::string_view method, std::string_view host,
                                    std::string_view code, std::chrono::duration<double> latency) {
  metrics_.restClientRequests.labels({code, method, host}).inc();
  metrics_.restClientRequestDuration.labels({method, host}).observe(latency.count());
}

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
