#pragma once
// Counters for the watch path, read by the agent's /metrics from any thread while the
// watcher's thread writes them. Plain atomics (relaxed); the few string-keyed parts take a lock.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "k8swatch/event_sink.h"

namespace k8swatch {

struct ResourceCounters {
  std::atomic<std::uint64_t> lists{0};       // complete LISTs (all pages)
  std::atomic<std::uint64_t> listPages{0};   // LIST requests answered 200
  std::atomic<std::uint64_t> relists{0};     // LISTs after the first (410, dropped watch, ...)
  std::atomic<std::uint64_t> watches{0};     // WATCH requests answered 200
  std::atomic<std::uint64_t> gone{0};        // 410 Gone, as a status or an in-stream ERROR
  std::atomic<std::uint64_t> tooLargeRv{0};  // "Too large resource version"
  std::atomic<std::uint64_t> added{0};
  std::atomic<std::uint64_t> modified{0};
  std::atomic<std::uint64_t> deleted{0};  // DELETED events and deletions found by relists
  std::atomic<std::uint64_t> bookmarks{0};
  std::atomic<std::uint64_t> errorEvents{0};
  std::atomic<std::uint64_t> bytesDecoded{0};
  std::atomic<std::uint64_t> reconnects{0};       // connections opened after the first
  std::atomic<std::uint64_t> failures{0};         // requests or streams that failed and backed off
  std::atomic<std::uint64_t> objects{0};          // gauge: objects in the cache
  std::atomic<std::uint64_t> eventBufferPeak{0};  // most bytes one watch's parser held at once
  std::atomic<bool> synced{false};
};

struct ResourceCountersSnapshot {
  std::uint64_t lists = 0, listPages = 0, relists = 0, watches = 0, gone = 0, tooLargeRv = 0,
                added = 0, modified = 0, deleted = 0, bookmarks = 0, errorEvents = 0,
                bytesDecoded = 0, reconnects = 0, failures = 0, objects = 0, eventBufferPeak = 0;
  bool synced = false;
};

struct WatchStatsSnapshot {
  std::array<ResourceCountersSnapshot, 3> resources;  // indexed by ResourceKind
  std::map<std::string, std::uint64_t> rejectsByReason;
  std::string lastError;  // "" when none; never contains a token
  const ResourceCountersSnapshot& of(ResourceKind k) const {
    return resources[static_cast<std::size_t>(k)];
  }
};

class WatchStats {
 public:
  ResourceCounters& of(ResourceKind k) { return resources_[static_cast<std::size_t>(k)]; }
  void recordReject(std::string_view reason);
  void recordError(std::string message);
  WatchStatsSnapshot snapshot() const;

 private:
  std::array<ResourceCounters, 3> resources_;
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t, std::less<>> rejects_;
  std::string lastError_;
};

}  // namespace k8swatch
