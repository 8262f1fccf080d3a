#pragma once
// SyncLoop: the agent's reconcile thread.
//
// Purpose: waits for changes from the ChangeQueue, applies them to the Reconciler and syncs:
//   - nothing is written before Services, EndpointSlices and the Node have all synced, so an
//     API outage at start-up never touches the node;
//   - changes that arrive while a sync runs are coalesced into the next one, and syncs are at
//     least minSyncPeriod apart;
//   - every syncPeriod a full sync re-reads the kernel and repairs drift (and re-checks drains);
//   - after each sync: iptables (HostRules), health-check node ports, health and metrics.
// Threading: run() occupies the calling thread until the queue is stopped.
// Ownership: borrows everything; the optional parts may be null (tests, standalone without
//   iptables).
// Errors: logged once where handled, with the object's identity, and counted.

#include <chrono>
#include <functional>
#include <map>
#include <optional>

#include "agent/change_queue.h"
#include "agent/health.h"
#include "agent/healthcheck_server.h"
#include "agent/host_rules.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "agent/reconciler.h"

namespace agent {

struct SyncLoopOptions {
  std::chrono::milliseconds syncPeriod{30000};
  std::chrono::milliseconds minSyncPeriod{0};
  std::string nodeName;
};

struct SyncLoopParts {
  Reconciler& reconciler;
  ChangeQueue& queue;
  Logger log;
  AgentMetrics& metrics;
  HealthState& health;
  HostRules* hostRules = nullptr;
  HealthCheckServer* healthChecks = nullptr;
  // Builds the node context from the agent's Node object (null: not known yet).
  std::function<ipvs::NodeContext(const ipvs::Node*)> nodeContext;
};

class SyncLoop {
 public:
  SyncLoop(SyncLoopParts parts, SyncLoopOptions options);
  void run();
  // Runs one iteration's work now (tests): applies pending changes and syncs.
  void syncOnce(bool full);
  std::size_t syncs() const { return syncs_; }

 private:
  void applyChanges(ChangeBatch& batch);
  void afterSync(const SyncResult& result, std::chrono::steady_clock::time_point started,
                 std::optional<std::chrono::steady_clock::time_point> firstChange);
  bool updateHealthChecks(const std::vector<ipvs::ObjectKey>& replanned);
  void logResult(const SyncResult& result);
  void publishMetrics(const SyncResult& result);

  SyncLoopParts p_;
  SyncLoopOptions options_;
  std::optional<ipvs::Node> node_;
  std::size_t syncs_ = 0;
  std::map<std::uint16_t, HealthCheckService> healthCheckPorts_;
};

}  // namespace agent
