#include "agent/sync_reporter.h"

#include <chrono>
#include <string>

#include "k8swatch/event_sink.h"

namespace agent {

namespace {

double seconds(reconcile::Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

SyncReporter::SyncReporter(Logger log, AgentMetrics& metrics, HealthState& health,
                           HealthCheckServer* healthChecks)
    : log_(std::move(log)), metrics_(metrics), health_(health), healthChecks_(healthChecks) {}

void SyncReporter::changesQueued() { health_.queuedUpdate(); }

void SyncReporter::synced(const reconcile::SyncReport& report) {
  const auto& result = report.result;
  if (report.hostRulesError) {
    metrics_.iptablesRestoreFailuresTotal.inc();
    log_.error("iptables-restore failed; retrying at the next sync",
               {{"error", *report.hostRulesError}});
  }
  if (healthChecks_ != nullptr && updateHealthChecks(report)) {
    for (const auto& e : healthChecks_->sync(healthCheckPorts_))
      log_.error("cannot open health check node port",
                 {{"service", e.service.str()}, {"port", e.port}, {"error", e.error}});
  }
  logReport(report);
  publishMetrics(report);
  metrics_.syncProxyRulesDuration.observe(seconds(report.finished - report.started));
  if (report.firstChange)
    metrics_.networkProgrammingDuration.observe(seconds(report.finished - *report.firstChange));
  if (!result.observeFailed && result.failures.empty()) {
    health_.updated();
    metrics_.syncProxyRulesLastTimestamp.set(unixNow());
  }
}

bool SyncReporter::updateHealthChecks(const reconcile::SyncReport& report) {
  // Only the replanned Services can have changed their health-check port or local count.
  bool changed = false;
  for (const auto& key : report.result.replanned) {
    std::erase_if(healthCheckPorts_, [&](const auto& entry) {
      const bool match = entry.second.service == key;
      changed = changed || match;
      return match;
    });
    const ipvs::ServiceDesired* svc = report.desired.service(key);
    if (svc == nullptr || svc->healthCheck.nodePort == 0) continue;
    healthCheckPorts_[svc->healthCheck.nodePort] = {
        key, static_cast<int>(svc->healthCheck.localReadyEndpoints)};
    changed = true;
  }
  return changed;
}

void SyncReporter::logReport(const reconcile::SyncReport& report) {
  const auto& result = report.result;
  if (report.nodeDeleted)
    log_.warn("the agent's own Node was deleted; keeping its last known addresses");
  for (const auto& r : report.rejected) {
    const std::string resource(k8swatch::resourceKindName(r.kind));
    log_.error("rejected object", {{"resource", resource},
                                   {"object", r.object},
                                   {"reason", r.reason},
                                   {"detail", r.message}});
    metrics_.rejectedObjects.labels({resource, r.reason}).inc();
  }
  for (const auto& d : result.diagnostics)
    log_.warn(d.message, {{"service", d.object.str()}, {"reason", d.reason}});
  for (const auto& f : result.failures)
    log_.error("kernel operation failed",
               {{"operation", ipvs::describe(f.operation)}, {"error", f.error}});
  if (result.observeFailed) log_.error("cannot read the kernel state; will retry");
  log_.v(2, "sync done",
         {{"full", result.full},
          {"services", result.servicesReplanned},
          {"operations", result.operations},
          {"failed", result.failures.size()},
          {"draining", result.draining}});
}

void SyncReporter::publishMetrics(const reconcile::SyncReport& report) {
  const auto& result = report.result;
  auto& m = metrics_;
  m.serviceChangesTotal.inc(static_cast<double>(report.serviceChanges));
  m.endpointChangesTotal.inc(static_cast<double>(report.endpointChanges));
  for (const auto& d : result.diagnostics) m.rejectedObjects.labels({"Service", d.reason}).inc();
  m.gracefulTerminationQueueLength.set(static_cast<double>(result.draining));
  if (!result.full) return;  // the per-scheduler and no-local gauges are recounted on full syncs
  std::map<std::string, double> schedulers;
  double noLocalInternal = 0;
  double noLocalExternal = 0;
  for (const auto* vs : report.desired.virtualServers()) schedulers[vs->server.scheduler]++;
  for (const auto& key : report.cluster.serviceKeys()) {
    const ipvs::ServiceDesired* svc = report.desired.service(key);
    if (svc == nullptr) continue;
    noLocalInternal += svc->noLocalEndpointsInternal ? 1 : 0;
    noLocalExternal += svc->noLocalEndpointsExternal ? 1 : 0;
  }
  for (const auto& [name, count] : schedulers) m.virtualServers.labels({name}).set(count);
  m.noLocalEndpoints.labels({"internal"}).set(noLocalInternal);
  m.noLocalEndpoints.labels({"external"}).set(noLocalExternal);
}

}  // namespace agent
