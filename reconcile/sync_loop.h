#pragma once
// SyncLoop: the reconcile thread.
//
// Purpose: waits for changes from the ChangeQueue, applies them to the Reconciler and syncs:
//   - nothing is written before Services, EndpointSlices and the Node have all synced, so an
//     API outage at start-up never touches the node;
//   - changes that arrive while a sync runs are coalesced into the next one, and syncs are at
//     least minSyncPeriod apart;
//   - every syncPeriod a full sync re-reads the kernel and repairs drift;
//   - in between it wakes when the Reconciler's schedule has a retry, a full resync or a drain
//     check due (every kDrainCheckInterval while real servers drain, whatever the syncPeriod);
//   - after each sync, the iptables chains (HostRules), then one SyncReport to the observer:
//     changed rules are restored on this thread (in the sync's iptables phase), while a full
//     resync's forced restore of unchanged rules (drift repair) is only requested here and runs
//     on HostRules' worker, so a change never waits for it; a failed repair is the next
//     report's hostRulesError;
//     a drain check that changed nothing is not a sync and is not reported;
//   - each sync is timed by phase on the clock (reconcile/sync_phases.h); the first one also
//     carries the start (options), the list (until the caches synced) and the wait after it.
// Threading: run() occupies the calling thread until the queue is stopped.
// Ownership: borrows the reconciler, queue, observer, clock and host rules (null: no
//   iptables).
// Errors: nothing is logged here; every failure is in the SyncReport.

#include <chrono>
#include <functional>
#include <optional>

#include "reconcile/change_queue.h"
#include "reconcile/host_rules.h"
#include "reconcile/reconciler.h"
#include "reconcile/sync_observer.h"

namespace reconcile {

struct SyncLoopOptions {
  std::chrono::milliseconds syncPeriod{30000};
  std::chrono::milliseconds minSyncPeriod{0};
  std::string nodeName;
  // Builds the node context from the agent's Node object (unset: the node never changes).
  std::function<ipvs::NodeContext(const ipvs::Node*)> nodeContext;
  // For the first sync's breakdown: when the agent started and when its watches (the list)
  // started. Unset: the start phase is not measured and the list is timed from run().
  std::optional<Clock::TimePoint> agentStarted;
  std::optional<Clock::TimePoint> listStarted;
};

class SyncLoop {
 public:
  SyncLoop(Reconciler& reconciler, ChangeQueue& queue, SyncObserver& observer, HostRules* hostRules,
           const Clock& clock, SyncLoopOptions options);
  void run();
  // Runs one iteration's work now (tests): applies pending changes and syncs.
  void syncOnce(bool full);
  // The syncs reported to the observer (idle drain checks are not counted).
  std::size_t syncs() const { return syncs_; }

 private:
  void applyChanges(ChangeBatch batch,
                    SyncReport& report);  // frees the batch (a list is 10k+ changes)

  Reconciler& reconciler_;
  ChangeQueue& queue_;
  SyncObserver& observer_;
  HostRules* hostRules_;
  const Clock& clock_;
  SyncLoopOptions options_;
  std::optional<ipvs::Node> node_;
  std::size_t syncs_ = 0;
  // Until the first sync is reported: when run() started and when the caches synced.
  std::optional<Clock::TimePoint> runStarted_;
  std::optional<Clock::TimePoint> listed_;
};

}  // namespace reconcile
