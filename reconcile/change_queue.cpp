#include "reconcile/change_queue.h"

#include <utility>

namespace reconcile {

void ChangeQueue::push(Change change, bool service) {
  {
    std::lock_guard lock(mutex_);
    if (!batch_.firstAt) batch_.firstAt = clock_.now();
    batch_.changes.push_back(std::move(change));
    ++(service ? batch_.serviceChanges : batch_.endpointChanges);
  }
  wake_.notify_one();
}

void ChangeQueue::serviceUpdated(ipvs::Service svc) { push(std::move(svc), true); }

void ChangeQueue::serviceDeleted(const ipvs::ObjectKey& key) { push(ServiceDeleted{key}, true); }

void ChangeQueue::sliceUpdated(ipvs::EndpointSlice slice) { push(std::move(slice), false); }

void ChangeQueue::sliceDeleted(const ipvs::EndpointSlice& last) {
  push(SliceDeleted{last.key}, false);
}

void ChangeQueue::nodeUpdated(ipvs::Node node) { push(std::move(node), true); }

void ChangeQueue::nodeDeleted(const std::string& name) { push(NodeDeleted{name}, true); }

void ChangeQueue::rejected(k8swatch::ResourceKind kind, const std::string& object,
                           std::string_view reason, const std::string& message) {
  std::lock_guard lock(mutex_);
  // Not a change to plan: no wake-up; it is logged with the next batch.
  batch_.changes.push_back(ObjectRejected{kind, object, std::string(reason), message});
}

void ChangeQueue::synced(k8swatch::ResourceKind kind) {
  {
    std::lock_guard lock(mutex_);
    switch (kind) {
      case k8swatch::ResourceKind::kService:
        syncedServices_ = true;
        break;
      case k8swatch::ResourceKind::kEndpointSlice:
        syncedSlices_ = true;
        break;
      case k8swatch::ResourceKind::kNode:
        syncedNode_ = true;
        break;
    }
    if (!allSyncedAt_ && syncedServices_ && syncedSlices_ && syncedNode_)
      allSyncedAt_ = clock_.now();
  }
  wake_.notify_all();
}

bool ChangeQueue::allSynced() const {
  std::lock_guard lock(mutex_);
  return syncedServices_ && syncedSlices_ && syncedNode_;
}

std::optional<ipvs::Clock::TimePoint> ChangeQueue::allSyncedAt() const {
  std::lock_guard lock(mutex_);
  return allSyncedAt_;
}

void ChangeQueue::markAllSynced() {
  synced(k8swatch::ResourceKind::kService);
  synced(k8swatch::ResourceKind::kEndpointSlice);
  synced(k8swatch::ResourceKind::kNode);
}

void ChangeQueue::waitUntil(ipvs::Clock::TimePoint deadline) {
  std::unique_lock lock(mutex_);
  wake_.wait_until(lock, deadline,
                   [this] { return stopped_ || woken_ || !batch_.changes.empty(); });
  woken_ = false;
}

void ChangeQueue::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

void ChangeQueue::waitUntilSynced(ipvs::Clock::TimePoint deadline) {
  std::unique_lock lock(mutex_);
  wake_.wait_until(lock, deadline, [this] {
    return stopped_ || (syncedServices_ && syncedSlices_ && syncedNode_);
  });
}

ChangeBatch ChangeQueue::take() {
  std::lock_guard lock(mutex_);
  return std::exchange(batch_, ChangeBatch{});
}

std::size_t ChangeQueue::pending() const {
  std::lock_guard lock(mutex_);
  return batch_.changes.size();
}

ChangeQueue::PendingCounts ChangeQueue::pendingCounts() const {
  std::lock_guard lock(mutex_);
  return {batch_.serviceChanges, batch_.endpointChanges};
}

void ChangeQueue::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  wake_.notify_all();
}

bool ChangeQueue::stopped() const {
  std::lock_guard lock(mutex_);
  return stopped_;
}

}  // namespace reconcile
