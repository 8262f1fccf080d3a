#pragma once
// ClusterCache: the Services and EndpointSlices the agent knows, indexed by Service.
//
// Purpose: answers "which slices belong to this Service" in O(slices of that Service), so that
// replanning one Service never scans the cluster. Each change returns the Services it affects.
// Threading: none; owned by the reconcile loop.
// Ownership: owns compact model structs (never JSON).

#include <unordered_map>
#include <vector>

#include "ipvs/model.h"

namespace reconcile {

class ClusterCache {
 public:
  // Each returns the keys of the Services whose desired state may have changed.
  std::vector<ipvs::ObjectKey> upsertService(ipvs::Service svc);
  std::vector<ipvs::ObjectKey> deleteService(const ipvs::ObjectKey& key);
  std::vector<ipvs::ObjectKey> upsertSlice(ipvs::EndpointSlice slice);
  std::vector<ipvs::ObjectKey> deleteSlice(const ipvs::ObjectKey& sliceKey);

  const ipvs::Service* service(const ipvs::ObjectKey& key) const;
  std::vector<const ipvs::EndpointSlice*> slicesOf(const ipvs::ObjectKey& serviceKey) const;
  std::vector<ipvs::ObjectKey> serviceKeys() const;

  std::size_t serviceCount() const { return services_.size(); }
  std::size_t sliceCount() const { return slices_.size(); }

 private:
  void unindex(const ipvs::ObjectKey& serviceKey, const ipvs::ObjectKey& sliceKey);

  std::unordered_map<ipvs::ObjectKey, ipvs::Service, ipvs::ObjectKeyHash> services_;
  std::unordered_map<ipvs::ObjectKey, ipvs::EndpointSlice, ipvs::ObjectKeyHash> slices_;
  // Service key -> keys of its slices. Slices may arrive before their Service.
  std::unordered_map<ipvs::ObjectKey, std::vector<ipvs::ObjectKey>, ipvs::ObjectKeyHash> index_;
};

}  // namespace reconcile
