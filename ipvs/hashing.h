#pragma once
// Hash functors for the kernel-object keys, so the desired state can live in hash maps and
// an update costs O(size of one Service), not O(cluster).

#include <cstddef>
#include <functional>
#include <string>

#include "ipvs/kernel_objects.h"
#include "ipvs/model.h"

namespace ipvs {

inline std::size_t hashCombine(std::size_t seed, std::size_t v) {
  return seed ^ (v + 0x9e3779b97f4a7c15ull + (seed << 6) + (seed >> 2));
}

struct VirtualServerKeyHash {
  std::size_t operator()(const VirtualServerKey& k) const noexcept {
    std::size_t h = IpAddressHash{}(k.address);
    h = hashCombine(h, (static_cast<std::size_t>(k.protocol) << 16) | k.port);
    return hashCombine(h, k.fwmark);
  }
};

// Deliberately not noexcept: libstdc++ then caches each node's hash code, so bucket walks and
// rehashes do not rehash the entry strings (measured: a third of DesiredState::update's time).
struct IpsetEntryHash {
  std::size_t operator()(const IpsetEntry& e) const {
    std::size_t h = std::hash<std::string>{}(e.entry);
    return hashCombine(h,
                       (static_cast<std::size_t>(e.set) << 1) | static_cast<std::size_t>(e.family));
  }
};

// ObjectKeyHash (model.h) is noexcept, so libstdc++ would rehash both strings on every bucket
// walk; this wrapper is not, so the hash codes are cached.
struct CachedObjectKeyHash {
  std::size_t operator()(const ObjectKey& k) const { return ObjectKeyHash{}(k); }
};

}  // namespace ipvs
