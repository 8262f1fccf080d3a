#pragma once
// The abstract conntrack table the reconcile engine cleans, as Dataplane is for IPVS:
// netlink::ConntrackClient implements it over ctnetlink; tests use a recording fake.
//
// Threading: an implementation is used by one thread at a time.
// Errors: one result per call; a failure deletes nothing more and is not retried (the entries
//   then expire by their UDP timeout, as they would without any cleanup).

#include <cstddef>
#include <span>

#include "ipvs/conntrack_cleanup.h"
#include "ipvs/result.h"

namespace ipvs {

class ConntrackPort {
 public:
  virtual ~ConntrackPort() = default;

  // Deletes every entry that matches any of `filters`; returns how many were deleted.
  [[nodiscard]] virtual Result<std::size_t> deleteEntries(
      std::span<const ConntrackFilter> filters) = 0;
};

}  // namespace ipvs
