#include "reconcile/sync_loop.h"

#include <utility>

namespace reconcile {

SyncLoop::SyncLoop(Reconciler& reconciler, ChangeQueue& queue, SyncObserver& observer,
                   HostRules* hostRules, SyncLoopOptions options)
    : reconciler_(reconciler),
      queue_(queue),
      observer_(observer),
      hostRules_(hostRules),
      options_(std::move(options)) {}

void SyncLoop::applyChanges(ChangeBatch& batch, SyncReport& report) {
  bool nodeChanged = false;
  for (auto& change : batch.changes) {
    if (auto* svc = std::get_if<ipvs::Service>(&change)) {
      reconciler_.upsertService(std::move(*svc));
    } else if (auto* sd = std::get_if<ServiceDeleted>(&change)) {
      reconciler_.deleteService(sd->key);
    } else if (auto* slice = std::get_if<ipvs::EndpointSlice>(&change)) {
      reconciler_.upsertSlice(std::move(*slice));
    } else if (auto* del = std::get_if<SliceDeleted>(&change)) {
      reconciler_.deleteSlice(del->key);
    } else if (auto* node = std::get_if<ipvs::Node>(&change)) {
      if (node->name == options_.nodeName || options_.nodeName.empty()) {
        nodeChanged = !node_ || *node_ != *node;
        node_ = std::move(*node);
      }
    } else if (std::holds_alternative<NodeDeleted>(change)) {
      report.nodeDeleted = true;
    } else if (auto* r = std::get_if<ObjectRejected>(&change)) {
      report.rejected.push_back(std::move(*r));
    }
  }
  report.serviceChanges = batch.serviceChanges;
  report.endpointChanges = batch.endpointChanges;
  report.firstChange = batch.firstAt;
  if (nodeChanged && options_.nodeContext) reconciler_.setNode(options_.nodeContext(&*node_));
}

void SyncLoop::syncOnce(bool full) {
  ChangeBatch batch = queue_.take();
  SyncReport report(reconciler_.desired(), reconciler_.cluster());
  applyChanges(batch, report);
  report.started = Clock::now();
  report.result = reconciler_.sync(report.started, full);
  ++syncs_;
  if (hostRules_ != nullptr) {
    hostRules_->noteReplanned(reconciler_.desired(), report.result.replanned);
    if (auto rules = hostRules_->sync(reconciler_.observed(), report.result.full); !rules)
      report.hostRulesError = rules.error();
  }
  report.finished = Clock::now();
  observer_.synced(report);
}

void SyncLoop::run() {
  using std::chrono::milliseconds;
  auto nextFull = Clock::now();
  auto lastSync = Clock::time_point{};
  while (!queue_.stopped()) {
    const bool ready = queue_.allSynced();
    // Before the first full list nothing is written; wake up periodically to check.
    auto deadline = ready ? nextFull : Clock::now() + milliseconds(200);
    if (ready && (queue_.pending() > 0 || reconciler_.pendingWork())) {
      deadline = std::min(deadline, lastSync + options_.minSyncPeriod);
    }
    if (Clock::now() < deadline) queue_.waitUntil(deadline);
    if (queue_.stopped()) break;
    if (!queue_.allSynced()) continue;
    const auto now = Clock::now();
    if (now < lastSync + options_.minSyncPeriod) continue;  // coalesce: too soon after a sync
    const bool full = now >= nextFull || reconciler_.needsFullSync();
    if (!full && queue_.pending() == 0 && !reconciler_.pendingWork()) continue;
    if (queue_.pending() > 0) observer_.changesQueued();
    syncOnce(full);
    lastSync = Clock::now();
    if (full) nextFull = lastSync + options_.syncPeriod;
  }
}

}  // namespace reconcile
