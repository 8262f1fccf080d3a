#pragma once
// The interface between k8swatch and the agent: decoded cluster objects, one call per change.

#include <string>
#include <string_view>

#include "ipvs/model.h"

namespace k8swatch {

enum class ResourceKind { kService, kEndpointSlice, kNode };

std::string_view resourceKindName(ResourceKind kind);  // "Service", "EndpointSlice", "Node"

// Called from the watcher's thread (one thread for all three resources, so calls never overlap
// for one Watcher). Implementations must be cheap and thread-safe with respect to the agent's own
// threads: typically they lock, record the change, mark a Service dirty and return.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void serviceUpdated(ipvs::Service svc) = 0;  // added or modified
  virtual void serviceDeleted(const ipvs::ObjectKey& key) = 0;
  virtual void sliceUpdated(ipvs::EndpointSlice slice) = 0;
  // `last` carries the slice's identity (key, serviceName, resourceVersion), not its endpoints.
  virtual void sliceDeleted(const ipvs::EndpointSlice& last) = 0;
  virtual void nodeUpdated(ipvs::Node node) = 0;
  virtual void nodeDeleted(const std::string& /*name*/) {}  // the agent's own Node went away
  virtual void synced(ResourceKind kind) = 0;               // its first full list is applied
  // A dropped bad object. `object` is "namespace/name" (or what is known of it), `reason` a
  // stable id usable as a metric label (see decode.h), `message` a human-readable explanation.
  virtual void rejected(ResourceKind kind, const std::string& object, std::string_view reason,
                        const std::string& message) = 0;
};

}  // namespace k8swatch
