#include "k8swatch/stats.h"

namespace k8swatch {

void WatchStats::recordReject(std::string_view reason) {
  std::lock_guard lock(mutex_);
  auto it = rejects_.find(reason);
  if (it == rejects_.end()) it = rejects_.emplace(std::string(reason), 0).first;
  ++it->second;
}

void WatchStats::recordError(std::string message) {
  std::lock_guard lock(mutex_);
  lastError_ = std::move(message);
}

WatchStatsSnapshot WatchStats::snapshot() const {
  WatchStatsSnapshot s;
  for (std::size_t i = 0; i < resources_.size(); ++i) {
    const auto& c = resources_[i];
    auto& o = s.resources[i];
    o.lists = c.lists.load();
    o.listPages = c.listPages.load();
    o.relists = c.relists.load();
    o.watches = c.watches.load();
    o.gone = c.gone.load();
    o.tooLargeRv = c.tooLargeRv.load();
    o.added = c.added.load();
    o.modified = c.modified.load();
    o.deleted = c.deleted.load();
    o.bookmarks = c.bookmarks.load();
    o.errorEvents = c.errorEvents.load();
    o.bytesDecoded = c.bytesDecoded.load();
    o.reconnects = c.reconnects.load();
    o.failures = c.failures.load();
    o.objects = c.objects.load();
    o.eventBufferPeak = c.eventBufferPeak.load();
    o.synced = c.synced.load();
  }
  std::lock_guard lock(mutex_);
  s.rejectsByReason.insert(rejects_.begin(), rejects_.end());
  s.lastError = lastError_;
  return s;
}

}  // namespace k8swatch
