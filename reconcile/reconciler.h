#pragma once
// Reconciler: turns cluster changes into kernel operations, one dirty Service at a time.
//
// Purpose: keeps the cluster cache, the desired state (ipvs::DesiredState) and a mirror of the
// kernel state. A change marks its Service dirty; sync() replans only the dirty Services and
// diffs only the keys they touched, so its cost follows the change, not the cluster. A full
// sync re-reads the kernel (Dataplane::observe): at start, at every periodic resync, and when
// the kernel state is uncertain (ENOBUFS, a failed dump), because memory of what was sent is
// never trusted. With dumpInBackground(), every full sync after the first reads the kernel on a
// thread of its own (BackgroundDump), comparing it with the mirror as it reads, and syncs go on
// incrementally meanwhile; the sync after the dump completes is the full one. It corrects the
// mirror where the kernel differed (the drift) and diffs the drifted keys with the due ones, so
// a resync that finds nothing costs the dump, not a diff of the cluster. That is exact while
// the mirror is trusted: every sync leaves desired and mirror apart only on keys whose Services
// are failing (retried on their own backoff). A sync that lost replies breaks that trust, and
// then the next full sync diffs every key. The mirror is advanced only by operations the
// kernel acknowledged. Between full syncs, weight-0 real servers are re-checked on
// the schedule's short drain timer: only their virtual servers are read, and those whose
// connections ended are deleted; a failed read there makes the kernel state uncertain.
// When a sync runs is the SyncSchedule's business (its one owner).
// Threading: owned by the sync loop's thread. A background dump reads the mirror on its own
//   thread, only under observedMutex_, which sync() holds throughout.
// Ownership: borrows the Dataplane; owns everything else.
// Errors: a failed operation re-dirties only its Service, retried with that Service's own
//   backoff; other Services are unaffected. SyncResult reports each failure and each Service's
//   state change (failing, still failing, recovered).
// Metrics: SyncResult carries the counts; the observer publishes them.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <vector>

#include "ipvs/clock.h"
#include "ipvs/conntrack_port.h"
#include "ipvs/dataplane.h"
#include "ipvs/desired_state.h"
#include "ipvs/diff.h"
#include "ipvs/node_context.h"
#include "reconcile/attribution.h"
#include "reconcile/background_dump.h"
#include "reconcile/cluster_cache.h"
#include "reconcile/mirror_lock.h"
#include "reconcile/sync_phases.h"
#include "reconcile/sync_schedule.h"

namespace reconcile {

struct FailedOperation {
  ipvs::Operation operation;
  std::error_code error;
  std::vector<ipvs::ObjectKey> services;  // who planned it; empty: unattributed
};

// The UDP conntrack cleanup of a sync failed (see Reconciler::setConntrack).
struct ConntrackFailure {
  std::vector<ipvs::ObjectKey> services;  // whose stale entries were to be deleted
  std::error_code error;
};

struct SyncResult {
  bool full = false;
  bool observeFailed = false;  // the kernel could not be read: nothing was applied
  bool dumpStarted = false;    // a full resync's dump started in the background (not full yet)
  bool dumpRunning = false;  // a full resync's dump was reading the kernel meanwhile, on its thread
  std::optional<DumpTimes> dump;  // this full sync took a background dump that cost this
  // Objects that background dump found different in the kernel than in the mirror (drift by
  // another writer): the mirror took the kernel's view and their keys were diffed.
  std::size_t drift = 0;
  bool wholeDiff = false;  // every key was diffed (a full sync that could not trust the mirror)
  std::size_t servicesReplanned = 0;
  std::vector<ipvs::ObjectKey> replanned;  // the Services replanned by this sync
  std::size_t operations = 0;
  std::size_t idempotent = 0;
  // Acknowledged operations by ipvs::operationKind (static names), for the operations counter.
  std::map<std::string_view, std::size_t> appliedByKind;
  std::vector<FailedOperation> failures;
  std::vector<ipvs::Diagnostic> diagnostics;  // from the replanned Services, to log once each
  std::size_t draining = 0;                   // real servers kept at weight 0 after this sync
  bool drainCheck = false;  // the drain timer re-read the VSs with drains (not a full sync)
  std::vector<ServiceEvent> serviceEvents;  // Services that started/kept failing or recovered
  SyncState state = SyncState::kAwaiting;   // after this sync
  std::size_t failingServices = 0;          // Services waiting for a retry after this sync
  bool fullResyncScheduled = false;         // the kernel state is uncertain: re-read it later
  std::size_t conntrackDeleted = 0;         // stale UDP conntrack entries deleted
  std::optional<ConntrackFailure> conntrackFailure;
};

class Reconciler {
 public:
  struct Options {
    ipvs::NodeContext node;
    // Upper bound on a drain (kube-proxy has none): past it, a weight-0 real server is deleted
    // even with open connections. Unset: wait for the connections to end.
    std::optional<std::chrono::seconds> drainLimit;
    RetryPolicy retry;  // set retry.max to the sync period
  };

  // `random` jitters the backoffs (null: no jitter).
  Reconciler(ipvs::Dataplane& dataplane, Options options, ipvs::RandomFn random = {});

  // After each sync, stale UDP conntrack entries of the replanned Services are deleted through
  // `port` (null, the default: never), as kube-proxy does: see ipvs/conntrack_cleanup.h. What
  // the kernel's UDP virtual servers held before and after the sync decides, so a real server
  // that a partly failed sync did remove is cleaned up too. A failure is reported in
  // SyncResult::conntrackFailure; it never fails the sync. One call per sync covers every
  // Service, so the table is dumped once however many Services changed (e.g. at start-up).
  void setConntrack(ipvs::ConntrackPort* port) { conntrack_ = port; }

  // Full resyncs after the first read the kernel through `reader` on a thread of their own, so
  // that changes are not queued behind the dump. `wake` runs on that thread when the dump is
  // done: the sync loop then calls sync(), which completes the full resync. A null reader
  // (the dataplane cannot be read concurrently) keeps every dump on the sync thread.
  void dumpInBackground(std::unique_ptr<ipvs::KernelReader> reader, std::function<void()> wake);
  // A background dump has finished: the next sync() completes the full resync.
  bool dumpReady() const { return dump_ != nullptr && dump_->ready(); }

  // Each change makes its Services due at `now` and resets their backoff.
  void upsertService(ipvs::Service svc, Clock::TimePoint now);
  void deleteService(const ipvs::ObjectKey& key, Clock::TimePoint now);
  void upsertSlice(ipvs::EndpointSlice slice, Clock::TimePoint now);
  void deleteSlice(const ipvs::ObjectKey& sliceKey, Clock::TimePoint now);
  // A new node context (addresses, zone, ...) can change every Service: all become dirty.
  void setNode(ipvs::NodeContext node, Clock::TimePoint now);

  // Replans the Services due at `now` and applies the plan. With `full`, or when the schedule's
  // full resync is due, re-reads the kernel first and diffs every key. The first full sync also
  // resets the weights an interrupted drain left at 0 (kube-proxy's initialSync). When the
  // drain check is due (and the sync is not full), re-reads the VSs with drains first.
  // `timer` (null: untimed) is lapped at each phase boundary: plan, observe, IPVS, ipsets,
  // addresses, conntrack; the bookkeeping between them is "other".
  SyncResult sync(Clock::TimePoint now, bool full = false, PhaseTimer* timer = nullptr);

  // The earliest time a sync has work (a retry, a change, the full resync, the drain check);
  // nullopt: none.
  std::optional<Clock::TimePoint> nextDue() const;
  SyncState state() const { return schedule_.state(); }
  const ipvs::DesiredState& desired() const { return desired_; }
  const ipvs::KernelState& observed() const { return observed_; }
  const ClusterCache& cluster() const { return cache_; }
  const ipvs::NodeContext& node() const { return options_.node; }
  std::size_t drainingCount() const { return drainSince_.size(); }

 private:
  void markDirty(const std::vector<ipvs::ObjectKey>& keys, Clock::TimePoint now);
  bool observeAll(bool awaiting, SyncResult& result, ipvs::ChangedKeys& changed);
  ipvs::ChangedKeys replan(const std::vector<ipvs::ObjectKey>& keys, SyncResult& result,
                           Attribution& attribution);
  ipvs::DiffOptions diffOptions(Clock::TimePoint now, bool resetWeights) const;
  bool readDrains(ipvs::ChangedKeys& changed, std::set<ipvs::VirtualServerKey>& fresh);
  bool refreshCounters(const ipvs::Plan& plan, const std::set<ipvs::VirtualServerKey>& fresh,
                       bool& uncertain);
  bool apply(std::span<const ipvs::Operation> ops, const Attribution& attribution,
             SyncResult& result, PhaseTimer* timer);
  void record(std::span<const ipvs::Operation> ops, std::span<const std::error_code> results,
              const Attribution& attribution, SyncResult& result);
  bool settle(const std::vector<ipvs::ObjectKey>& replanned, SyncResult& result,
              Clock::TimePoint now);
  void trackDrains(const ipvs::Plan& plan, Clock::TimePoint now, bool full);
  using UdpSnapshot = std::map<ipvs::ObjectKey, ipvs::UdpRealServers>;
  ipvs::UdpRealServers udpRealServers(const std::set<ipvs::VirtualServerKey>& keys) const;
  UdpSnapshot snapshotUdp() const;
  void cleanConntrack(const UdpSnapshot& before, SyncResult& result);

  ipvs::Dataplane& dataplane_;
  Options options_;
  ClusterCache cache_;
  ipvs::DesiredState desired_;
  ipvs::ConntrackPort* conntrack_ = nullptr;
  // The UDP virtual servers each replanned Service had before its replan (cleared every sync).
  std::map<ipvs::ObjectKey, std::set<ipvs::VirtualServerKey>> udpKeys_;
  ipvs::KernelState observed_;
  // Held by sync() while it changes observed_; a background dump reads observed_ only under it.
  MirrorLock observedMutex_;
  // Desired and observed_ differ only on the keys of failing Services: a full resync may diff
  // only its drift. False until a whole diff ran, and again after replies were lost.
  bool mirrorTrusted_ = false;
  SyncSchedule schedule_;
  // Real servers at weight 0 for their connections, and since when (for the drain limit).
  std::map<std::pair<ipvs::VirtualServerKey, ipvs::RealServerKey>, Clock::TimePoint> drainSince_;
  std::unique_ptr<BackgroundDump> dump_;  // null: every dump on the sync thread
};

}  // namespace reconcile
