#pragma once
// Reconciler: turns cluster changes into kernel operations, one dirty Service at a time.
//
// Purpose: keeps the cluster cache, the desired state (ipvs::DesiredState) and a mirror of the
// kernel state. A change marks its Service dirty; sync() replans only the dirty Services and
// diffs only the keys they touched, so its cost follows the change, not the cluster. A full
// sync re-reads the kernel (Dataplane::observe) and diffs everything: at start, at every
// periodic resync, and after any error, because memory of what was sent is never trusted.
// The mirror is advanced only by operations the kernel acknowledged.
// Threading: none; owned by the sync loop's thread.
// Ownership: borrows the Dataplane; owns everything else.
// Errors: a failed operation is reported in SyncResult and forces the next sync to be full.
// Metrics: SyncResult carries the counts; the sync loop publishes them.

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <unordered_set>
#include <vector>

#include "ipvs/dataplane.h"
#include "ipvs/desired_state.h"
#include "ipvs/diff.h"
#include "ipvs/node_context.h"
#include "reconcile/cluster_cache.h"

namespace reconcile {

using Clock = std::chrono::steady_clock;

struct FailedOperation {
  ipvs::Operation operation;
  std::error_code error;
};

struct SyncResult {
  bool full = false;
  bool observeFailed = false;  // the kernel could not be read: nothing was applied
  std::size_t servicesReplanned = 0;
  std::vector<ipvs::ObjectKey> replanned;  // the Services replanned by this sync
  std::size_t operations = 0;
  std::size_t idempotent = 0;
  std::vector<FailedOperation> failures;
  std::vector<ipvs::Diagnostic> diagnostics;  // from the replanned Services, to log once each
  std::size_t draining = 0;                   // real servers kept at weight 0 after this sync
};

class Reconciler {
 public:
  struct Options {
    ipvs::NodeContext node;
    // Upper bound on a drain (kube-proxy has none): past it, a weight-0 real server is deleted
    // even with open connections. Unset: wait for the connections to end.
    std::optional<std::chrono::seconds> drainLimit;
  };

  Reconciler(ipvs::Dataplane& dataplane, Options options);

  void upsertService(ipvs::Service svc);
  void deleteService(const ipvs::ObjectKey& key);
  void upsertSlice(ipvs::EndpointSlice slice);
  void deleteSlice(const ipvs::ObjectKey& sliceKey);
  // A new node context (addresses, zone, ...) can change every Service: all become dirty.
  void setNode(ipvs::NodeContext node);

  // Replans the dirty Services and applies the plan. With `full`, or after an error, re-reads
  // the kernel first and diffs every key. The first sync is always full and also resets the
  // weights an interrupted drain left at 0 (kube-proxy's initialSync).
  SyncResult sync(Clock::time_point now, bool full = false);

  bool pendingWork() const { return !dirty_.empty() || needsFull_; }
  bool needsFullSync() const { return needsFull_; }
  const ipvs::DesiredState& desired() const { return desired_; }
  const ipvs::KernelState& observed() const { return observed_; }
  const ClusterCache& cluster() const { return cache_; }
  const ipvs::NodeContext& node() const { return options_.node; }
  std::size_t drainingCount() const { return drainSince_.size(); }

 private:
  void markDirty(const std::vector<ipvs::ObjectKey>& keys);
  ipvs::ChangedKeys replanDirty(SyncResult& result);
  ipvs::DiffOptions diffOptions(Clock::time_point now, bool resetWeights) const;
  bool refreshCounters(const ipvs::Plan& plan);
  void apply(const ipvs::Plan& plan, SyncResult& result);
  void trackDrains(const ipvs::Plan& plan, Clock::time_point now, bool full);

  ipvs::Dataplane& dataplane_;
  Options options_;
  ClusterCache cache_;
  ipvs::DesiredState desired_;
  ipvs::KernelState observed_;
  std::unordered_set<ipvs::ObjectKey, ipvs::ObjectKeyHash> dirty_;
  bool needsFull_ = true;
  bool firstSync_ = true;
  // Real servers at weight 0 for their connections, and since when (for the drain limit).
  std::map<std::pair<ipvs::VirtualServerKey, ipvs::RealServerKey>, Clock::time_point> drainSince_;
};

}  // namespace reconcile
