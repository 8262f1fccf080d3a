#pragma once
// The reflector's store for one resource: the key, resourceVersion (and, for EndpointSlices,
// Service name) of every accepted object, never the object itself: enough to suppress unchanged
// re-deliveries, to name what sliceDeleted() deletes, and to find deletions when a relist
// replaces the whole set. The objects go to the EventSink, whose consumer keeps the one copy. It
// decodes, dedupes and forwards to the EventSink. Never emptied by a relist: a relist marks what it
// sees, then deletes the rest. Threading: the watcher's thread only. Errors: bad objects are
// rejected alone (sink + counter); an invalid new version leaves the last good one in place.

#include <boost/json/fwd.hpp>
#include <memory>

#include "k8swatch/decode.h"
#include "k8swatch/event_sink.h"
#include "k8swatch/stats.h"

namespace k8swatch {

class ObjectCache {
 public:
  virtual ~ObjectCache() = default;
  virtual ResourceKind kind() const = 0;

  virtual void beginList() = 0;
  virtual void listItem(const boost::json::value& item) = 0;
  // Deletes what the list did not contain; the first complete list reports synced().
  virtual void endList() = 0;

  virtual void upsert(const boost::json::value& object) = 0;  // ADDED, MODIFIED
  virtual void remove(const boost::json::value& object) = 0;  // DELETED
  // A valid EndpointSlice the streaming decoder already decoded, stored as listItem() and
  // upsert() store what they decode. Returns false, doing nothing, in a cache of another kind.
  virtual bool storeSlice(ipvs::EndpointSlice slice) = 0;
  virtual std::size_t size() const = 0;
  // Reports a dropped object or event that never reached decoding (oversize, malformed event).
  virtual void reject(Rejection r) = 0;
};

std::unique_ptr<ObjectCache> makeObjectCache(ResourceKind kind, EventSink& sink, WatchStats& stats);

}  // namespace k8swatch
