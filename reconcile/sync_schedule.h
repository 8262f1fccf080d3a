#pragma once
// SyncSchedule: the engine's one owner of "what must be synced, and when".
//
// Purpose: modelled on Open/R's fib/Fib.h. It holds the sync state (awaiting the first full
//   sync, syncing, synced), the dirty Services with the time each may next be replanned, one
//   exponential backoff per failing Service, and the (backed-off) full resync that only an
//   uncertain kernel state asks for. A failed operation re-dirties only its Service; a change
//   to that Service makes it due at once and resets its backoff. While real servers drain,
//   it also holds the drain check's own short timer (kDrainCheckInterval), independent of the
//   sync period, so that a drain ends within seconds of its last connection.
// Threading: none; owned by the Reconciler on the sync loop's thread.
// Ownership: owns plain keys and times; no clock (the caller passes `now`).
// Errors: none; it reports each Service's state change (failing, still failing, recovered)
//   once, for the observer to log.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ipvs/clock.h"
#include "ipvs/desired_state.h"
#include "ipvs/model.h"

namespace reconcile {

using Clock = ipvs::Clock;

enum class SyncState { kAwaiting, kSyncing, kSynced };
std::string_view syncStateName(SyncState state);  // "awaiting", "syncing", "synced"

// How often weight-0 real servers are re-read while they drain. Short, because a drain ends
// only when a check sees its connections gone; cheap, because only the virtual servers with
// drains are read.
inline constexpr std::chrono::seconds kDrainCheckInterval{2};

struct RetryPolicy {
  std::chrono::milliseconds initial{1000};
  std::chrono::milliseconds max{30000};  // the sync period: a retry is never rarer than a resync
  double jitter = 0.2;                   // each delay d becomes d * (1 + U[0,1) * jitter)
  std::chrono::minutes summaryEvery{5};  // "still failing" log line interval
};

// A delay that doubles per failure up to `max`; reset() goes back to `initial`.
class Backoff {
 public:
  explicit Backoff(const RetryPolicy& policy) : current_(policy.initial) {}
  Clock::Duration next(const RetryPolicy& policy, const ipvs::RandomFn& random);
  void reset(const RetryPolicy& policy) { current_ = policy.initial; }

 private:
  Clock::Duration current_;
};

struct ServiceEvent {
  enum class Kind { kFailing, kStillFailing, kRecovered };
  Kind kind;
  ipvs::ObjectKey service;
  std::string reason;  // the last failure: "add_virtual_server TCP 10.0.0.1:80: No such file..."
  Clock::TimePoint since;     // the first failure of this episode
  std::size_t attempts = 0;   // failed attempts in this episode
  Clock::Duration retryIn{};  // kFailing/kStillFailing: when the next attempt is due
};

class SyncSchedule {
 public:
  SyncSchedule(RetryPolicy policy, ipvs::RandomFn random);

  // The Service changed: due now, its backoff reset.
  void changed(const ipvs::ObjectKey& key, Clock::TimePoint now);
  // Removes and returns the Services due at `now`.
  std::vector<ipvs::ObjectKey> takeDue(Clock::TimePoint now);
  // The earliest time something is due (a Service, the full resync or the drain check), if
  // anything is pending.
  std::optional<Clock::TimePoint> nextDue(bool withFull = true) const;

  bool fullDue(Clock::TimePoint now) const { return fullWanted_ && now >= fullAt_; }
  // The kernel state is uncertain (ENOBUFS, a failed dump, an unattributed failure): re-read
  // it, after the full resync's own backoff.
  void fullFailed(Clock::TimePoint now);
  // A full sync read the kernel and applied its plan without an uncertain outcome.
  void fullSucceeded();
  // A full resync's dump started in the background: not due again until it ends in
  // fullSucceeded() or fullFailed().
  void fullStarted() { fullWanted_ = false; }

  // Drains remain after a sync at `now`: a check is due kDrainCheckInterval after the last one
  // (`checked`: this sync re-read them), or keeps its time. No drains: no check.
  void drainsRemain(bool remain, bool checked, Clock::TimePoint now);
  bool drainCheckDue(Clock::TimePoint now) const { return drainAt_ && now >= *drainAt_; }
  std::optional<Clock::TimePoint> drainCheckAt() const { return drainAt_; }

  // The keys of the operations that failed for this Service, to retry even if it is unchanged.
  const ipvs::ChangedKeys* failedKeys(const ipvs::ObjectKey& key) const;
  std::optional<ServiceEvent> serviceFailed(const ipvs::ObjectKey& key, std::string reason,
                                            ipvs::ChangedKeys keys, Clock::TimePoint now);
  std::optional<ServiceEvent> serviceSucceeded(const ipvs::ObjectKey& key);

  SyncState state() const;
  std::size_t failingServices() const { return failing_.size(); }
  std::size_t dirtyServices() const { return dueAt_.size(); }

 private:
  struct Failing {
    Backoff backoff;
    Clock::TimePoint since;
    Clock::TimePoint lastReported;
    std::size_t attempts = 0;
    ipvs::ChangedKeys keys;
  };

  RetryPolicy policy_;
  ipvs::RandomFn random_;
  std::unordered_map<ipvs::ObjectKey, Clock::TimePoint, ipvs::ObjectKeyHash> dueAt_;
  std::unordered_map<ipvs::ObjectKey, Failing, ipvs::ObjectKeyHash> failing_;
  bool awaiting_ = true;  // no full sync has read the kernel yet
  bool fullWanted_ = true;
  Clock::TimePoint fullAt_{};
  Backoff fullBackoff_;
  std::optional<Clock::TimePoint> drainAt_;  // the next drain check, while drains remain
};

}  // namespace reconcile
