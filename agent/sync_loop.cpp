#include "agent/sync_loop.h"

#include <map>

namespace agent {

namespace {

using SteadyClock = std::chrono::steady_clock;

double secondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

SyncLoop::SyncLoop(SyncLoopParts parts, SyncLoopOptions options)
    : p_(std::move(parts)), options_(std::move(options)) {}

void SyncLoop::applyChanges(ChangeBatch& batch) {
  bool nodeChanged = false;
  for (auto& change : batch.changes) {
    if (auto* svc = std::get_if<ipvs::Service>(&change)) {
      p_.reconciler.upsertService(std::move(*svc));
    } else if (auto* sd = std::get_if<ServiceDeleted>(&change)) {
      p_.reconciler.deleteService(sd->key);
    } else if (auto* slice = std::get_if<ipvs::EndpointSlice>(&change)) {
      p_.reconciler.upsertSlice(std::move(*slice));
    } else if (auto* del = std::get_if<SliceDeleted>(&change)) {
      p_.reconciler.deleteSlice(del->key);
    } else if (auto* node = std::get_if<ipvs::Node>(&change)) {
      if (node->name == options_.nodeName || options_.nodeName.empty()) {
        nodeChanged = !node_ || *node_ != *node;
        node_ = std::move(*node);
      }
    } else if (std::holds_alternative<NodeDeleted>(change)) {
      p_.log.warn("the agent's own Node was deleted; keeping its last known addresses");
    } else if (auto* r = std::get_if<ObjectRejected>(&change)) {
      const std::string resource(k8swatch::resourceKindName(r->kind));
      p_.log.error("rejected object", {{"resource", resource},
                                       {"object", r->object},
                                       {"reason", r->reason},
                                       {"detail", r->message}});
      p_.metrics.rejectedObjects.labels({resource, r->reason}).inc();
    }
  }
  p_.metrics.serviceChangesTotal.inc(static_cast<double>(batch.serviceChanges));
  p_.metrics.endpointChangesTotal.inc(static_cast<double>(batch.endpointChanges));
  if (nodeChanged && p_.nodeContext) p_.reconciler.setNode(p_.nodeContext(&*node_));
}

void SyncLoop::syncOnce(bool full) {
  ChangeBatch batch = p_.queue.take();
  applyChanges(batch);
  const auto started = SteadyClock::now();
  const SyncResult result = p_.reconciler.sync(started, full);
  ++syncs_;
  afterSync(result, started, batch.firstAt);
}

void SyncLoop::run() {
  using std::chrono::milliseconds;
  auto nextFull = SteadyClock::now();
  auto lastSync = SteadyClock::time_point{};
  while (!p_.queue.stopped()) {
    const bool ready = p_.queue.allSynced();
    // Before the first full list nothing is written; wake up periodically to check.
    auto deadline = ready ? nextFull : SteadyClock::now() + milliseconds(200);
    if (ready && (p_.queue.pending() > 0 || p_.reconciler.pendingWork())) {
      deadline = std::min(deadline, lastSync + options_.minSyncPeriod);
    }
    if (SteadyClock::now() < deadline) p_.queue.waitUntil(deadline);
    if (p_.queue.stopped()) break;
    if (!p_.queue.allSynced()) continue;
    const auto now = SteadyClock::now();
    if (now < lastSync + options_.minSyncPeriod) continue;  // coalesce: too soon after a sync
    const bool full = now >= nextFull || p_.reconciler.needsFullSync();
    if (!full && p_.queue.pending() == 0 && !p_.reconciler.pendingWork()) continue;
    if (p_.queue.pending() > 0) p_.health.queuedUpdate();
    syncOnce(full);
    lastSync = SteadyClock::now();
    if (full) nextFull = lastSync + options_.syncPeriod;
  }
}

void SyncLoop::afterSync(const SyncResult& result, SteadyClock::time_point started,
                         std::optional<SteadyClock::time_point> firstChange) {
  if (p_.hostRules != nullptr) {
    p_.hostRules->noteReplanned(p_.reconciler.desired(), result.replanned);
    if (auto rules = p_.hostRules->sync(p_.reconciler.observed(), result.full); !rules) {
      p_.metrics.iptablesRestoreFailuresTotal.inc();
      p_.log.error("iptables-restore failed; retrying at the next sync",
                   {{"error", rules.error()}});
    }
  }
  if (p_.healthChecks != nullptr && updateHealthChecks(result.replanned)) {
    for (const auto& e : p_.healthChecks->sync(healthCheckPorts_))
      p_.log.error("cannot open health check node port",
                   {{"service", e.service.str()}, {"port", e.port}, {"error", e.error}});
  }
  logResult(result);
  publishMetrics(result);
  p_.metrics.syncProxyRulesDuration.observe(secondsSince(started));
  if (firstChange) p_.metrics.networkProgrammingDuration.observe(secondsSince(*firstChange));
  if (!result.observeFailed && result.failures.empty()) {
    p_.health.updated();
    p_.metrics.syncProxyRulesLastTimestamp.set(unixNow());
  }
}

bool SyncLoop::updateHealthChecks(const std::vector<ipvs::ObjectKey>& replanned) {
  // Only the replanned Services can have changed their health-check port or local count.
  bool changed = false;
  for (const auto& key : replanned) {
    std::erase_if(healthCheckPorts_, [&](const auto& entry) {
      const bool match = entry.second.service == key;
      changed = changed || match;
      return match;
    });
    const ipvs::ServiceDesired* svc = p_.reconciler.desired().service(key);
    if (svc == nullptr || svc->healthCheck.nodePort == 0) continue;
    healthCheckPorts_[svc->healthCheck.nodePort] = {
        key, static_cast<int>(svc->healthCheck.localReadyEndpoints)};
    changed = true;
  }
  return changed;
}

void SyncLoop::logResult(const SyncResult& result) {
  for (const auto& d : result.diagnostics)
    p_.log.warn(d.message, {{"service", d.object.str()}, {"reason", d.reason}});
  for (const auto& f : result.failures)
    p_.log.error("kernel operation failed",
                 {{"operation", ipvs::describe(f.operation)}, {"error", f.error}});
  if (result.observeFailed) p_.log.error("cannot read the kernel state; will retry");
  p_.log.v(2, "sync done",
           {{"full", result.full},
            {"services", result.servicesReplanned},
            {"operations", result.operations},
            {"failed", result.failures.size()},
            {"draining", result.draining}});
}

void SyncLoop::publishMetrics(const SyncResult& result) {
  auto& m = p_.metrics;
  for (const auto& d : result.diagnostics) m.rejectedObjects.labels({"Service", d.reason}).inc();
  m.gracefulTerminationQueueLength.set(static_cast<double>(result.draining));
  if (!result.full) return;  // the per-scheduler and no-local gauges are recounted on full syncs
  std::map<std::string, double> schedulers;
  double noLocalInternal = 0;
  double noLocalExternal = 0;
  for (const auto* vs : p_.reconciler.desired().virtualServers())
    schedulers[vs->server.scheduler]++;
  for (const auto& key : p_.reconciler.cluster().serviceKeys()) {
    const ipvs::ServiceDesired* svc = p_.reconciler.desired().service(key);
    if (svc == nullptr) continue;
    noLocalInternal += svc->noLocalEndpointsInternal ? 1 : 0;
    noLocalExternal += svc->noLocalEndpointsExternal ? 1 : 0;
  }
  for (const auto& [name, count] : schedulers) m.virtualServers.labels({name}).set(count);
  m.noLocalEndpoints.labels({"internal"}).set(noLocalInternal);
  m.noLocalEndpoints.labels({"external"}).set(noLocalExternal);
}

}  // namespace agent
