#pragma once
// The abstract iptables the reconcile engine programs, as Dataplane is for IPVS: the engine
// renders kube-proxy's chains (ipvs/iptables_rules.h) and hands them to this port, so every
// kernel write goes through an interface. netlink::IptablesRunner implements it with
// iptables-save/iptables-restore.
//
// Threading: an implementation is used by one thread at a time.
// Errors: each call returns its own result; a failed sync leaves the previous rules in place.

#include "ipvs/iptables_rules.h"
#include "ipvs/result.h"

namespace ipvs {

class IptablesPort {
 public:
  virtual ~IptablesPort() = default;

  // Restores every kube chain of `in` plus the jumps from built-in chains that are missing.
  [[nodiscard]] virtual Result<void> sync(const IptablesRuleInputs& in) = 0;
  // Removes what renderCleanup() finds for `scope` in the family's tables.
  [[nodiscard]] virtual Result<void> cleanup(Family family, CleanupScope scope) = 0;
  // Whether MASQUERADE --random-fully is available (kube-proxy's HasRandomFully).
  [[nodiscard]] virtual Result<bool> supportsRandomFully() = 0;
};

}  // namespace ipvs
