#pragma once
// Attribution: which Service an operation was planned for, so that a failure re-dirties only
// that Service.
//
// Purpose: each sync records, for every replanned Service, the kernel keys it may have changed.
//   A failed operation's key is looked up there, then in the desired state's virtual-server
//   owners (a full diff also touches Services that were not replanned). An operation nobody owns
//   (a stale object deleted by a full diff) is unattributed: the caller treats the kernel as
//   uncertain.
// Threading: none; one per sync. Cost: O(keys of the replanned Services).

#include <unordered_map>
#include <vector>

#include "ipvs/desired_state.h"
#include "ipvs/hashing.h"
#include "ipvs/operation.h"

namespace reconcile {

class Attribution {
 public:
  void add(const ipvs::ObjectKey& service, const ipvs::ChangedKeys& keys);
  // The Services that planned `op` (usually one; a shared ipset entry or address may have more).
  std::vector<ipvs::ObjectKey> owners(const ipvs::Operation& op,
                                      const ipvs::DesiredState& desired) const;

 private:
  using Owners = std::vector<ipvs::ObjectKey>;
  std::unordered_map<ipvs::VirtualServerKey, Owners, ipvs::VirtualServerKeyHash> virtualServers_;
  std::unordered_map<ipvs::IpsetEntry, Owners, ipvs::IpsetEntryHash> entries_;
  std::unordered_map<ipvs::IpAddress, Owners, ipvs::IpAddressHash> addresses_;
};

// The kernel key an operation touches, as a one-key ChangedKeys (for retrying it).
ipvs::ChangedKeys keyOf(const ipvs::Operation& op);

}  // namespace reconcile
