#pragma once
// ChangeQueue: the hand-off from the watchers (or the file source) to the sync loop.
//
// Purpose: implements k8swatch::EventSink by recording each change, in order, and waking the
//   sync loop. The loop takes the whole batch at once, so changes that arrive while a sync runs
//   are coalesced into the next one.
// Threading: producers call the EventSink methods from their own threads; one consumer calls
//   wait()/take(). One mutex guards everything; producers never block on the consumer.
// Ownership: owns the pending changes until take() hands them over.
// Errors: rejected objects are queued too, so the loop logs and counts them on its thread.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ipvs/clock.h"
#include "ipvs/model.h"
#include "k8swatch/event_sink.h"

namespace reconcile {

struct ServiceDeleted {
  ipvs::ObjectKey key;
};
struct SliceDeleted {
  ipvs::ObjectKey key;
};
struct NodeDeleted {
  std::string name;
};
struct ObjectRejected {
  k8swatch::ResourceKind kind;
  std::string object;
  std::string reason;
  std::string message;
};
using Change = std::variant<ipvs::Service, ServiceDeleted, ipvs::EndpointSlice, SliceDeleted,
                            ipvs::Node, NodeDeleted, ObjectRejected>;

struct ChangeBatch {
  std::vector<Change> changes;
  std::size_t serviceChanges = 0;
  std::size_t endpointChanges = 0;
  // When the oldest change of the batch arrived: the start of its network-programming latency.
  std::optional<ipvs::Clock::TimePoint> firstAt;
};

class ChangeQueue final : public k8swatch::EventSink {
 public:
  // `clock` stamps each batch's first change; it must outlive the queue.
  explicit ChangeQueue(const ipvs::Clock& clock = ipvs::steadyClock()) : clock_(clock) {}

  void serviceUpdated(ipvs::Service svc) override;
  void serviceDeleted(const ipvs::ObjectKey& key) override;
  void sliceUpdated(ipvs::EndpointSlice slice) override;
  void sliceDeleted(const ipvs::EndpointSlice& last) override;
  void nodeUpdated(ipvs::Node node) override;
  void nodeDeleted(const std::string& name) override;
  void synced(k8swatch::ResourceKind kind) override;
  void rejected(k8swatch::ResourceKind kind, const std::string& object, std::string_view reason,
                const std::string& message) override;

  // True once Services, EndpointSlices and the Node have each delivered their first full list.
  bool allSynced() const;
  // When the last of the three first lists completed (the end of the "list" phase).
  std::optional<ipvs::Clock::TimePoint> allSyncedAt() const;
  // Marks every resource synced (for sources that deliver everything at once).
  void markAllSynced();
  // Waits until a change is pending, `deadline` passes, wake() or stop() is called. The wait
  // itself is on the steady clock: only the loop's run() waits, never a unit test.
  void waitUntil(ipvs::Clock::TimePoint deadline);
  // Ends the current (or next) waitUntil() without a change: something else has work for the
  // loop (a background dump finished). Any thread.
  void wake();
  // Waits until every resource has been listed, `deadline` passes, or stop() is called; changes
  // arriving meanwhile do not end the wait (the initial list delivers thousands of them).
  void waitUntilSynced(ipvs::Clock::TimePoint deadline);
  ChangeBatch take();
  std::size_t pending() const;
  // The pending changes split as kube-proxy's *_changes_pending gauges count them.
  struct PendingCounts {
    std::size_t services = 0;
    std::size_t endpoints = 0;
    auto operator<=>(const PendingCounts&) const = default;
  };
  PendingCounts pendingCounts() const;
  void stop();
  bool stopped() const;

 private:
  void push(Change change, bool service);

  const ipvs::Clock& clock_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  ChangeBatch batch_;
  bool syncedServices_ = false;
  bool syncedSlices_ = false;
  bool syncedNode_ = false;
  std::optional<ipvs::Clock::TimePoint> allSyncedAt_;
  bool stopped_ = false;
  bool woken_ = false;
};

}  // namespace reconcile
