#pragma once
// SyncObserver: what the sync loop tells the rest of the agent, once per sync.
//
// Purpose: the engine does not log, count or serve anything itself. After each sync it hands a
//   complete SyncReport to one observer; agent/ implements it (logs, metrics, health, health-check
//   node ports), and tests implement it to read what happened.
// Threading: called on the sync loop's thread, synchronously; the references in the report are
//   valid only during the call.

#include <chrono>
#include <cstddef>
#include <optional>
#include <system_error>
#include <vector>

#include "reconcile/change_queue.h"
#include "reconcile/reconciler.h"
#include "reconcile/sync_phases.h"

namespace reconcile {

struct SyncReport {
  SyncReport(const ipvs::DesiredState& desiredState, const ClusterCache& clusterCache)
      : desired(desiredState), cluster(clusterCache) {}

  SyncResult result;  // what the reconciler planned, applied and failed
  Clock::TimePoint started{};
  Clock::TimePoint finished{};
  // Where the time went: the phases from cache to other add up to finished - started. The
  // first sync also carries the list and the wait before it (zero in every later sync).
  PhaseTimes phases;
  bool first = false;  // the first sync of the loop
  // When the oldest change of this sync's batch arrived (network-programming latency).
  std::optional<Clock::TimePoint> firstChange;
  std::size_t serviceChanges = 0;
  std::size_t endpointChanges = 0;
  std::vector<ObjectRejected> rejected;  // bad objects dropped by the watchers
  bool nodeDeleted = false;              // the agent's own Node went away (kept its addresses)
  std::optional<std::error_code> hostRulesError;  // iptables-restore failed (retried next sync)
  // The engine's state after the sync, for health-check ports and gauges.
  const ipvs::DesiredState& desired;
  const ClusterCache& cluster;
};

class SyncObserver {
 public:
  virtual ~SyncObserver() = default;
  // Changes are waiting for a sync (kube-proxy's QueuedUpdate, for /healthz): called when the
  // loop first sees them and whenever their number grows, before the sync that takes them.
  virtual void changesQueued(std::size_t serviceChanges, std::size_t endpointChanges) = 0;
  virtual void synced(const SyncReport& report) = 0;
};

}  // namespace reconcile
