#include "reconcile/cluster_cache.h"

#include <algorithm>

namespace reconcile {

using ipvs::ObjectKey;

std::vector<ObjectKey> ClusterCache::upsertService(ipvs::Service svc) {
  ObjectKey key = svc.key;
  services_.insert_or_assign(key, std::move(svc));
  return {key};
}

std::vector<ObjectKey> ClusterCache::deleteService(const ObjectKey& key) {
  services_.erase(key);
  return {key};
}

std::vector<ObjectKey> ClusterCache::upsertSlice(ipvs::EndpointSlice slice) {
  std::vector<ObjectKey> affected{slice.serviceKey()};
  const ObjectKey sliceKey = slice.key;
  auto it = slices_.find(sliceKey);
  if (it != slices_.end()) {
    const ObjectKey previous = it->second.serviceKey();
    if (previous != affected.front()) {  // the slice moved to another Service (relabelled)
      unindex(previous, sliceKey);
      affected.push_back(previous);
      index_[affected.front()].push_back(sliceKey);
    }
    it->second = std::move(slice);
  } else {
    index_[affected.front()].push_back(sliceKey);
    slices_.emplace(sliceKey, std::move(slice));
  }
  return affected;
}

std::vector<ObjectKey> ClusterCache::deleteSlice(const ObjectKey& sliceKey) {
  auto it = slices_.find(sliceKey);
  if (it == slices_.end()) return {};
  ObjectKey serviceKey = it->second.serviceKey();
  slices_.erase(it);
  unindex(serviceKey, sliceKey);
  return {serviceKey};
}

void ClusterCache::unindex(const ObjectKey& serviceKey, const ObjectKey& sliceKey) {
  auto it = index_.find(serviceKey);
  if (it == index_.end()) return;
  std::erase(it->second, sliceKey);
  if (it->second.empty()) index_.erase(it);
}

const ipvs::Service* ClusterCache::service(const ObjectKey& key) const {
  auto it = services_.find(key);
  return it == services_.end() ? nullptr : &it->second;
}

std::vector<const ipvs::EndpointSlice*> ClusterCache::slicesOf(const ObjectKey& serviceKey) const {
  std::vector<const ipvs::EndpointSlice*> out;
  auto it = index_.find(serviceKey);
  if (it == index_.end()) return out;
  out.reserve(it->second.size());
  for (const auto& sliceKey : it->second) out.push_back(&slices_.at(sliceKey));
  return out;
}

std::vector<ObjectKey> ClusterCache::serviceKeys() const {
  std::vector<ObjectKey> keys;
  keys.reserve(services_.size());
  for (const auto& [key, svc] : services_) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace reconcile
