#pragma once
// DesiredState: the union of every Service's desired kernel objects, kept incrementally.
//
// Purpose: one update replaces one Service's contribution and returns the keys whose desired
// value may have changed, so the diff can look only at those. Costs O(size of that Service):
// all indexes are hash maps keyed by the kernel-object key.
// Sharing: two Services may need the same ipset entry or bound address (reference counted).
// A virtual-server key claimed by two Services goes to the lower namespace/name, whatever the
// order of updates (so the result is a pure function of the set of Services); the other gets a
// "virtual_server_conflict" diagnostic from conflicts(), and takes over if the winner leaves.
// Threading: none; owned and used by the reconcile loop.
// Errors: none; bad input was reported by translate().

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "ipvs/diagnostic.h"
#include "ipvs/hashing.h"
#include "ipvs/translate.h"

namespace ipvs {

// Keys whose desired value may differ from before. Sorted and unique after normalize().
struct ChangedKeys {
  std::vector<VirtualServerKey> virtualServers;
  std::vector<IpsetEntry> ipsetEntries;
  std::vector<IpAddress> addresses;

  bool empty() const { return virtualServers.empty() && ipsetEntries.empty() && addresses.empty(); }
  // Accumulates another change set (e.g. several Services dirty before one sync).
  void merge(const ChangedKeys& other);
  void normalize();
};

class DesiredState {
 public:
  // Replaces the Service's contribution (an ignored or empty ServiceDesired clears it).
  // `key` must not refer into `desired` (`update(d.key, std::move(d))` would read a moved-from
  // key); use the one-argument form for that.
  ChangedKeys update(const ObjectKey& key, ServiceDesired desired);
  ChangedKeys update(ServiceDesired desired);  // keyed by desired.key
  ChangedKeys remove(const ObjectKey& key);
  // Sizes the indexes for about this many Services (e.g. after the initial list), so that
  // filling them does not rehash repeatedly. Optional.
  void reserve(std::size_t services);

  const ServiceDesired* service(const ObjectKey& key) const;
  // The winning claim for a key, or nullptr if nobody wants it.
  const DesiredVirtualServer* virtualServer(const VirtualServerKey& key) const;
  const ObjectKey* virtualServerOwner(const VirtualServerKey& key) const;
  bool hasIpsetEntry(const IpsetEntry& entry) const { return entries_.count(entry) != 0; }
  bool hasAddress(const IpAddress& ip) const { return addresses_.count(ip) != 0; }

  // Full listings, sorted (for the full diff and for tests).
  std::vector<const DesiredVirtualServer*> virtualServers() const;
  std::vector<IpsetEntry> ipsetEntries() const;
  std::vector<const IpsetEntry*> sortedIpsetEntries() const;  // no string copies
  std::vector<IpAddress> addresses() const;

  // Counts for the metrics, in one pass and without a listing: the winning virtual servers by
  // scheduler, and the Services whose Local traffic policy found no local endpoint.
  struct Tally {
    std::map<std::string, std::size_t> schedulers;
    std::size_t noLocalInternal = 0;
    std::size_t noLocalExternal = 0;
  };
  Tally tally() const;

  // Keys of this Service that another Service won.
  std::vector<Diagnostic> conflicts(const ObjectKey& key) const;

  std::size_t serviceCount() const { return services_.size(); }
  std::size_t virtualServerCount() const { return claims_.size(); }
  std::size_t ipsetEntryCount() const { return entries_.size(); }
  std::size_t addressCount() const { return addresses_.size(); }

 private:
  struct Claim {
    const ServiceDesired* owner;
    std::uint32_t index;  // into owner->virtualServers
  };
  using Claims = std::vector<Claim>;  // sorted by owner->key; front() wins

  void replace(ServiceDesired* slot, const ServiceDesired& old, ChangedKeys& changed);
  bool addClaim(const VirtualServerKey& key, const ServiceDesired* owner, std::uint32_t index);
  bool dropClaim(const VirtualServerKey& key, const ServiceDesired* owner);
  bool retarget(const VirtualServerKey& key, const ServiceDesired* owner, std::uint32_t index);

  std::unordered_map<ObjectKey, ServiceDesired, CachedObjectKeyHash> services_;
  std::unordered_map<VirtualServerKey, Claims, VirtualServerKeyHash> claims_;
  std::unordered_map<IpsetEntry, std::uint32_t, IpsetEntryHash> entries_;
  std::unordered_map<IpAddress, std::uint32_t, IpAddressHash> addresses_;
};

}  // namespace ipvs
