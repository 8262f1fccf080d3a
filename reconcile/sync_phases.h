#pragma once
// SyncPhase and PhaseTimer: where the time of a sync goes.
//
// Purpose: a sync is cut into consecutive laps on the injected clock, each charged to one
//   phase, so the phases of a sync add up exactly to its duration (nothing is timed twice,
//   nothing falls between two phases). "other" takes what no named phase claims (bookkeeping
//   between the phases). The start, the list and the wait happen before the first sync; they
//   are reported with it, outside its duration.
// Threading: none; a PhaseTimer lives on the sync loop's thread for one sync.

#include <array>
#include <cstddef>
#include <string_view>

#include "ipvs/clock.h"

namespace reconcile {

enum class SyncPhase : std::size_t {
  kStart,      // before the first sync: agent start (kernel, iptables, servers) until the list
  kList,       // before the first sync: list start until Services, slices and Node are listed
  kWait,       // before the first sync: caches synced until the sync starts
  kCache,      // the batch of changes applied to the cluster cache
  kPlan,       // translation of the dirty Services and the diff against the kernel mirror
  kObserve,    // kernel reads: the full dump, drain checks, counter refreshes
  kIpvs,       // IPVS virtual and real server operations
  kIpsets,     // ipset entry operations
  kAddresses,  // kube-ipvs0 address binds and unbinds
  kConntrack,  // stale UDP conntrack deletion
  kIptables,   // the host rules' restores of changed rules (a resync's repair runs off the sync)
  kOther,      // what no other phase claims
};
inline constexpr std::size_t kSyncPhaseCount = static_cast<std::size_t>(SyncPhase::kOther) + 1;

// The start, the list and the wait: before the first sync, outside its duration.
inline constexpr bool beforeSync(SyncPhase phase) { return phase <= SyncPhase::kWait; }

// The label of each phase on /metrics and in the log (a switch, so a new phase without a
// name is a -Wswitch error).
inline std::string_view syncPhaseName(SyncPhase phase) {
  switch (phase) {
    case SyncPhase::kStart:
      return "start";
    case SyncPhase::kList:
      return "list";
    case SyncPhase::kWait:
      return "wait";
    case SyncPhase::kCache:
      return "cache";
    case SyncPhase::kPlan:
      return "plan";
    case SyncPhase::kObserve:
      return "observe";
    case SyncPhase::kIpvs:
      return "ipvs";
    case SyncPhase::kIpsets:
      return "ipsets";
    case SyncPhase::kAddresses:
      return "addresses";
    case SyncPhase::kConntrack:
      return "conntrack";
    case SyncPhase::kIptables:
      return "iptables";
    case SyncPhase::kOther:
      return "other";
  }
  return "unknown";
}

// The time of each phase of one sync.
class PhaseTimes {
 public:
  using Duration = ipvs::Clock::Duration;
  Duration& operator[](SyncPhase p) { return times_[static_cast<std::size_t>(p)]; }
  Duration operator[](SyncPhase p) const { return times_[static_cast<std::size_t>(p)]; }
  // The phases inside the sync (all but the start, the list and the wait): its duration.
  Duration inSync() const {
    Duration sum{};
    for (std::size_t i = 0; i < kSyncPhaseCount; ++i)
      if (!beforeSync(static_cast<SyncPhase>(i))) sum += times_[i];
    return sum;
  }

 private:
  std::array<Duration, kSyncPhaseCount> times_{};
};

// Charges the time since the previous lap (or the start) to a phase.
class PhaseTimer {
 public:
  explicit PhaseTimer(const ipvs::Clock& clock)
      : clock_(clock), start_(clock.now()), last_(start_) {}

  ipvs::Clock::TimePoint lap(SyncPhase phase) {
    const ipvs::Clock::TimePoint now = clock_.now();
    times_[phase] += now - last_;
    last_ = now;
    return now;
  }
  ipvs::Clock::TimePoint start() const { return start_; }
  const PhaseTimes& times() const { return times_; }

 private:
  const ipvs::Clock& clock_;
  ipvs::Clock::TimePoint start_;
  ipvs::Clock::TimePoint last_;
  PhaseTimes times_;
};

}  // namespace reconcile
