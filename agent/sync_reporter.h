#pragma once
// SyncReporter: the agent's reconcile::SyncObserver.
//
// Purpose: turns each SyncReport into kube-proxy's language: log lines, metrics, /healthz state
//   and the health-check node ports of the Services that ask for one.
// Threading: called on the sync loop's thread only.
// Ownership: borrows the metrics, health state and health-check server (null: none).
// Errors: logged once here, with the object's identity; each error line is counted by the
//   logger's error hook.

#include <cstdint>
#include <map>
#include <vector>

#include "agent/health.h"
#include "agent/healthcheck_server.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "reconcile/sync_observer.h"

namespace agent {

class SyncReporter final : public reconcile::SyncObserver {
 public:
  SyncReporter(Logger log, AgentMetrics& metrics, HealthState& health,
               HealthCheckServer* healthChecks);

  void changesQueued() override;
  void synced(const reconcile::SyncReport& report) override;

 private:
  bool updateHealthChecks(const reconcile::SyncReport& report);
  void logReport(const reconcile::SyncReport& report);
  void logServiceEvents(const reconcile::SyncReport& report);
  void publishMetrics(const reconcile::SyncReport& report);

  Logger log_;
  AgentMetrics& metrics_;
  HealthState& health_;
  HealthCheckServer* healthChecks_;
  std::map<std::uint16_t, HealthCheckService> healthCheckPorts_;
};

}  // namespace agent
