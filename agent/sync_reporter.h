#pragma once
// SyncReporter: the agent's reconcile::SyncObserver.
//
// Purpose: turns each SyncReport into kube-proxy's language: log lines, metrics, /healthz state
//   and the health-check node ports of the Services that ask for one; after a large sync it
//   returns the freed heap to the kernel (worthTrimmingHeap).
// Threading: called on the sync loop's thread only.
// Ownership: borrows the metrics, health state and health-check server (null: none).
// Errors: logged once here, with the object's identity; each error line is counted by the
//   logger's error hook.

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "agent/health.h"
#include "agent/healthcheck_server.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "reconcile/sync_observer.h"

namespace agent {

// The metrics SyncReporter counts (registered in agent/metrics.cpp).
inline constexpr char kMetricSyncDuration[] = "kubeproxy_sync_proxy_rules_duration_seconds";
inline constexpr char kMetricNetworkProgrammingDuration[] =
    "kubeproxy_network_programming_duration_seconds";
inline constexpr char kMetricSyncLastTimestamp[] =
    "kubeproxy_sync_proxy_rules_last_timestamp_seconds";
inline constexpr char kMetricSyncLastQueuedTimestamp[] =
    "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds";
inline constexpr char kMetricEndpointChanges[] =
    "kubeproxy_sync_proxy_rules_endpoint_changes_total";
inline constexpr char kMetricServiceChanges[] = "kubeproxy_sync_proxy_rules_service_changes_total";
inline constexpr char kMetricNoLocalEndpoints[] =
    "kubeproxy_sync_proxy_rules_no_local_endpoints_total";
inline constexpr char kMetricIptablesRestoreFailures[] =
    "kubeproxy_sync_proxy_rules_iptables_restore_failures_total";
inline constexpr char kMetricRejectedObjects[] = "ipvs_agent_rejected_objects_total";
inline constexpr char kMetricGracefulTerminationQueue[] =
    "ipvs_agent_graceful_termination_queue_length";
inline constexpr char kMetricVirtualServers[] = "ipvs_agent_virtual_servers";
inline constexpr char kMetricFailingServices[] = "ipvs_agent_failing_services";
inline constexpr char kMetricFailedOperations[] = "ipvs_agent_failed_operations_total";
inline constexpr char kMetricResyncDrift[] = "ipvs_agent_resync_drift_total";
inline constexpr char kMetricEndpointChangesPending[] =
    "kubeproxy_sync_proxy_rules_endpoint_changes_pending";
inline constexpr char kMetricServiceChangesPending[] =
    "kubeproxy_sync_proxy_rules_service_changes_pending";
inline constexpr char kMetricNetlinkOperations[] = "ipvs_agent_netlink_operations_total";
// Per phase of each sync (reconcile/sync_phases.h); "list" and "wait" once, with the first sync.
inline constexpr char kMetricSyncPhaseDuration[] = "ipvs_agent_sync_phase_duration_seconds";

// Whether a sync freed enough to hand the heap's free pages back to the kernel (malloc_trim):
// the first sync and large plans. glibc keeps freed memory resident otherwise, so VmRSS after a
// 10k-Service first sync stayed near its peak. Not after every periodic full resync: what it
// frees (the dump's key list, member hashes and address list) is allocated again one sync period
// later, and trimming it would only add page faults to each resync.
inline constexpr std::size_t kTrimHeapAfterOperations = 1000;
bool worthTrimmingHeap(const reconcile::SyncReport& report);

class SyncReporter final : public reconcile::SyncObserver {
 public:
  SyncReporter(Logger log, AgentMetrics& metrics, HealthState& health,
               HealthCheckServer* healthChecks);

  void changesQueued(std::size_t serviceChanges, std::size_t endpointChanges) override;
  void synced(const reconcile::SyncReport& report) override;

 private:
  bool updateHealthChecks(const reconcile::SyncReport& report);
  void logReport(const reconcile::SyncReport& report);
  void logServiceEvents(const reconcile::SyncReport& report);
  void publishMetrics(const reconcile::SyncReport& report);
  void publishPhases(const reconcile::SyncReport& report);

  Logger log_;
  AgentMetrics& metrics_;
  HealthState& health_;
  HealthCheckServer* healthChecks_;
  std::map<std::uint16_t, HealthCheckService> healthCheckPorts_;
};

}  // namespace agent
