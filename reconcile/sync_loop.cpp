#include "reconcile/sync_loop.h"

#include <utility>

namespace reconcile {
namespace {

// A drain check that found every drain still connected, or a sync that only started a full
// resync's background dump: the engine did nothing, so it is no sync to the observer (no log
// line, no sync metrics, no health update). With drains open for minutes, counting the checks
// would report a sync every kDrainCheckInterval.
bool idle(const SyncReport& report) {
  const SyncResult& r = report.result;
  return (r.drainCheck || r.dumpStarted) && !r.full && r.operations == 0 && r.failures.empty() &&
         r.replanned.empty() && r.serviceEvents.empty() && !r.fullResyncScheduled &&
         !r.observeFailed && report.serviceChanges == 0 && report.endpointChanges == 0 &&
         report.rejected.empty() && !report.nodeDeleted && !report.hostRulesError;
}

}  // namespace

SyncLoop::SyncLoop(Reconciler& reconciler, ChangeQueue& queue, SyncObserver& observer,
                   HostRules* hostRules, const Clock& clock, SyncLoopOptions options)
    : reconciler_(reconciler),
      queue_(queue),
      observer_(observer),
      hostRules_(hostRules),
      clock_(clock),
      options_(std::move(options)) {}

void SyncLoop::applyChanges(ChangeBatch batch, SyncReport& report) {
  const Clock::TimePoint now = clock_.now();
  bool nodeChanged = false;
  for (auto& change : batch.changes) {
    if (auto* svc = std::get_if<ipvs::Service>(&change)) {
      reconciler_.upsertService(std::move(*svc), now);
    } else if (auto* sd = std::get_if<ServiceDeleted>(&change)) {
      reconciler_.deleteService(sd->key, now);
    } else if (auto* slice = std::get_if<ipvs::EndpointSlice>(&change)) {
      reconciler_.upsertSlice(std::move(*slice), now);
    } else if (auto* del = std::get_if<SliceDeleted>(&change)) {
      reconciler_.deleteSlice(del->key, now);
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
  if (nodeChanged && options_.nodeContext) reconciler_.setNode(options_.nodeContext(&*node_), now);
}

void SyncLoop::syncOnce(bool full) {
  PhaseTimer timer(clock_);
  ChangeBatch batch = queue_.take();
  SyncReport report(reconciler_.desired(), reconciler_.cluster());
  report.started = timer.start();
  applyChanges(std::move(batch), report);
  report.result = reconciler_.sync(timer.lap(SyncPhase::kCache), full, &timer);
  if (hostRules_ != nullptr) {
    hostRules_->noteReplanned(reconciler_.desired(), report.result.replanned);
    if (auto rules = hostRules_->sync(reconciler_.observed(), reconciler_.node().localDetector,
                                      report.result.full);
        !rules)
      report.hostRulesError = rules.error();
    timer.lap(SyncPhase::kIptables);
  }
  report.finished = timer.lap(SyncPhase::kOther);
  if (idle(report)) return;
  report.phases = timer.times();
  report.first = syncs_ == 0;
  if (report.first && runStarted_ && listed_) {
    report.phases[SyncPhase::kList] = *listed_ - *runStarted_;
    report.phases[SyncPhase::kWait] = report.started - *listed_;
    if (options_.agentStarted)
      report.phases[SyncPhase::kStart] = *runStarted_ - *options_.agentStarted;
  }
  ++syncs_;
  observer_.synced(report);
}

void SyncLoop::run() {
  auto nextFull = clock_.now();
  runStarted_ = options_.listStarted.value_or(nextFull);
  auto lastSync = Clock::TimePoint{};
  ChangeQueue::PendingCounts reported;  // what the observer last heard was pending
  while (!queue_.stopped()) {
    const auto now = clock_.now();
    if (!queue_.allSynced()) {
      // Before the first full list nothing is written. Waiting for changes here would return at
      // once for every object of the list and spin on the CPU the list needs.
      queue_.waitUntilSynced(now + std::chrono::milliseconds(200));
      continue;
    }
    if (!listed_) listed_ = queue_.allSyncedAt().value_or(now);
    const auto pending = queue_.pendingCounts();
    if (pending != reported && (pending.services > 0 || pending.endpoints > 0)) {
      observer_.changesQueued(pending.services, pending.endpoints);  // also while coalescing
      reported = pending;
    }
    auto wake = nextFull;
    if (auto due = reconciler_.nextDue()) wake = std::min(wake, *due);
    if (queue_.pending() > 0 || reconciler_.dumpReady()) wake = now;
    wake = std::max(wake, lastSync + options_.minSyncPeriod);  // coalesce changes
    if (now < wake) {
      queue_.waitUntil(wake);
      continue;
    }
    const bool full = now >= nextFull;
    reported = {};
    syncOnce(full);
    lastSync = clock_.now();
    if (full) nextFull = lastSync + options_.syncPeriod;
  }
}

}  // namespace reconcile
