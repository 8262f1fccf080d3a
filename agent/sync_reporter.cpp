#include "agent/sync_reporter.h"

#include <malloc.h>

#include <chrono>
#include <cstring>
#include <string>

#include "agent/config_duration.h"
#include "k8swatch/event_sink.h"

namespace agent {

namespace {

double seconds(reconcile::Clock::Duration d) { return std::chrono::duration<double>(d).count(); }

double unixSeconds(ipvs::Clock::WallTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// A stable metric label: "ENOENT" for errno codes, else the category and value.
std::string errorName(const std::error_code& ec) {
  if (ec.category() == std::generic_category() || ec.category() == std::system_category()) {
    if (const char* name = strerrorname_np(ec.value())) return name;
  }
  return std::string(ec.category().name()) + "_" + std::to_string(ec.value());
}

// "ns/a,ns/b" for a log field; at most kMaxNamed names, then "... (N in all)".
std::string serviceList(const std::vector<ipvs::ObjectKey>& services) {
  constexpr std::size_t kMaxNamed = 10;
  std::string out;
  for (std::size_t i = 0; i < services.size() && i < kMaxNamed; ++i)
    out += (i > 0 ? "," : "") + services[i].str();
  if (services.size() > kMaxNamed) out += ",... (" + std::to_string(services.size()) + " in all)";
  return out;
}

// "cache=1ms,plan=3ms,..." for the debug log: the phases that took any time, in order.
std::string phaseList(const reconcile::PhaseTimes& phases) {
  std::string out;
  for (std::size_t i = 0; i < reconcile::kSyncPhaseCount; ++i) {
    const auto phase = static_cast<reconcile::SyncPhase>(i);
    if (phases[phase] == reconcile::Clock::Duration::zero()) continue;
    if (!out.empty()) out += ',';
    out += std::string(reconcile::syncPhaseName(phase)) + "=" + formatGoDuration(phases[phase]);
  }
  return out;
}

}  // namespace

SyncReporter::SyncReporter(Logger log, AgentMetrics& metrics, HealthState& health,
                           HealthCheckServer* healthChecks)
    : log_(std::move(log)), metrics_(metrics), health_(health), healthChecks_(healthChecks) {}

void SyncReporter::changesQueued(std::size_t serviceChanges, std::size_t endpointChanges) {
  health_.queuedUpdate();
  metrics_.syncProxyRulesLastQueuedTimestamp.set(unixSeconds(health_.now()));
  metrics_.serviceChangesPending.set(static_cast<double>(serviceChanges));
  metrics_.endpointChangesPending.set(static_cast<double>(endpointChanges));
}

bool worthTrimmingHeap(const reconcile::SyncReport& report) {
  return report.first || report.result.operations >= kTrimHeapAfterOperations;
}

void SyncReporter::synced(const reconcile::SyncReport& report) {
  const auto& result = report.result;
  if (report.hostRulesError) {
    metrics_.iptablesRestoreFailuresTotal.inc();
    log_.error("iptables-restore failed; retrying at the next sync",
               {{"error", *report.hostRulesError}});
  }
  if (const auto& f = result.conntrackFailure)
    log_.error("cannot delete stale UDP conntrack entries; they expire by their timeout",
               {{"services", serviceList(f->services)}, {"error", f->error}});
  if (healthChecks_ != nullptr && updateHealthChecks(report)) {
    for (const auto& e : healthChecks_->sync(healthCheckPorts_))
      log_.error("cannot open health check node port",
                 {{"service", e.service.str()}, {"port", e.port}, {"error", e.error}});
  }
  logReport(report);
  if (worthTrimmingHeap(report)) malloc_trim(0);
  publishMetrics(report);
  publishPhases(report);
  metrics_.syncProxyRulesDuration.observe(seconds(report.finished - report.started));
  if (report.firstChange)
    metrics_.networkProgrammingDuration.observe(seconds(report.finished - *report.firstChange));
  // One failing Service (e.g. a scheduler the kernel lacks) must not make the node unhealthy:
  // only an unreadable or uncertain kernel does.
  if (!result.observeFailed && !result.fullResyncScheduled) {
    health_.updated();
    metrics_.syncProxyRulesLastTimestamp.set(unixSeconds(health_.now()));
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
  logServiceEvents(report);
  // Failures of a Service are logged by its state changes; only unattributed ones here, at
  // most once per (backed-off) full resync.
  std::size_t unattributed = 0;
  for (const auto& f : result.failures) {
    if (!f.services.empty()) continue;
    if (unattributed++ == 0)
      log_.error("kernel operation failed outside any Service; full resync scheduled",
                 {{"operation", ipvs::describe(f.operation)}, {"error", f.error}});
  }
  if (result.observeFailed) log_.error("cannot read the kernel state; full resync scheduled");
  log_.v(2, "sync done",
         {{"full", result.full},
          {"services", result.servicesReplanned},
          {"operations", result.operations},
          {"idempotent", result.idempotent},
          {"failed", result.failures.size()},
          {"draining", result.draining},
          {"duration", report.finished - report.started},
          // The network-programming latency of this sync's oldest change, as in the histogram.
          {"latency", report.firstChange ? formatGoDuration(report.finished - *report.firstChange)
                                         : std::string("none")},
          {"phases", phaseList(report.phases)},
          // A full resync's kernel dump ran before this sync, on its own thread: its wall and
          // CPU time (the sync's own duration does not include it).
          {"dump", result.dump ? formatGoDuration(result.dump->wall) : std::string("none")},
          {"dump_cpu", result.dump ? formatGoDuration(result.dump->cpu) : std::string("none")},
          // What that dump found changed behind the agent's back, and whether this sync diffed
          // every key (the first sync, or after lost replies) or only the drift and the changes.
          {"drift", result.dump ? std::to_string(result.drift) : std::string("none")},
          {"whole_diff", result.wholeDiff},
          // Whether a full resync's dump was reading the kernel, on its thread, during this sync.
          {"dump_running", result.dumpRunning}});
}

void SyncReporter::logServiceEvents(const reconcile::SyncReport& report) {
  using Kind = reconcile::ServiceEvent::Kind;
  for (const auto& e : report.result.serviceEvents) {
    const auto failingFor =
        std::chrono::duration_cast<std::chrono::nanoseconds>(report.started - e.since);
    const auto retryIn = std::chrono::duration_cast<std::chrono::nanoseconds>(e.retryIn);
    switch (e.kind) {
      case Kind::kFailing:
        log_.error("Service failing; retrying with backoff",
                   {{"service", e.service.str()}, {"error", e.reason}, {"retry_in", retryIn}});
        break;
      case Kind::kStillFailing:
        log_.warn("Service still failing", {{"service", e.service.str()},
                                            {"failing_for", failingFor},
                                            {"attempts", e.attempts},
                                            {"error", e.reason}});
        break;
      case Kind::kRecovered:
        log_.info(
            "Service recovered",
            {{"service", e.service.str()}, {"failed_for", failingFor}, {"attempts", e.attempts}});
        break;
    }
  }
}

void SyncReporter::publishPhases(const reconcile::SyncReport& report) {
  // Every phase of every sync is observed, zero or not, so each phase's count is the number of
  // syncs and its sum over all phases but start, list and wait is the total sync time.
  for (std::size_t i = 0; i < reconcile::kSyncPhaseCount; ++i) {
    const auto phase = static_cast<reconcile::SyncPhase>(i);
    if (reconcile::beforeSync(phase) && !report.first) continue;
    metrics_.syncPhaseDuration.labels({reconcile::syncPhaseName(phase)})
        .observe(seconds(report.phases[phase]));
  }
}

void SyncReporter::publishMetrics(const reconcile::SyncReport& report) {
  const auto& result = report.result;
  auto& m = metrics_;
  m.serviceChangesTotal.inc(static_cast<double>(report.serviceChanges));
  m.endpointChangesTotal.inc(static_cast<double>(report.endpointChanges));
  // This sync took every change that was pending; later ones are reported as they queue.
  m.serviceChangesPending.set(0);
  m.endpointChangesPending.set(0);
  for (const auto& [kind, n] : result.appliedByKind)
    m.netlinkOperations.labels({std::string(kind), "ok"}).inc(static_cast<double>(n));
  for (const auto& d : result.diagnostics) m.rejectedObjects.labels({"Service", d.reason}).inc();
  m.gracefulTerminationQueueLength.set(static_cast<double>(result.draining));
  m.failingServices.set(static_cast<double>(result.failingServices));
  m.resyncDrift.inc(static_cast<double>(result.drift));
  for (const auto& f : result.failures) {
    const std::string kind(ipvs::operationKind(f.operation));
    m.failedOperations.labels({kind, errorName(f.error)}).inc();
    m.netlinkOperations.labels({kind, errorName(f.error)}).inc();
  }
  if (const auto& f = result.conntrackFailure)
    m.failedOperations.labels({"delete_conntrack", errorName(f->error)}).inc();
  // The per-scheduler and no-local gauges are recounted on full syncs, in one pass over the
  // desired state: this runs on the sync thread, so no sorted listing of the whole cluster.
  if (!result.full) return;
  const ipvs::DesiredState::Tally tally = report.desired.tally();
  for (const auto& [name, count] : tally.schedulers)
    m.virtualServers.labels({name}).set(static_cast<double>(count));
  m.noLocalEndpoints.labels({"internal"}).set(static_cast<double>(tally.noLocalInternal));
  m.noLocalEndpoints.labels({"external"}).set(static_cast<double>(tally.noLocalExternal));
}

}  // namespace agent
