#pragma once
// HostRules: keeps the kube-proxy IPVS-mode iptables chains in step with the desired state.
//
// Purpose: after each sync, renders the chains for each family from a handful of inputs (which
//   of the agent's ipsets are non-empty, the LoadBalancer VIPs the node must not reach) and runs
//   one iptables-restore per family, but only when the rendered text changed or a full resync
//   asks for it (drift repair). The rule count does not grow with the number of Services.
// Threading: the sync loop's thread only.
// Ownership: borrows the IptablesPort (netlink::IptablesRunner on a host).
// Errors: a failed restore is returned (the loop counts it as
//   kubeproxy_sync_proxy_rules_iptables_restore_failures_total) and retried at the next sync.

#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "ipvs/iptables_port.h"
#include "ipvs/iptables_rules.h"
#include "ipvs/kernel_objects.h"
#include "ipvs/model.h"
#include "ipvs/result.h"

namespace ipvs {
class DesiredState;
}

namespace reconcile {

struct HostRulesOptions {
  std::vector<ipvs::Family> families;
  bool masqueradeAll = false;
  unsigned masqueradeBit = 14;
};

class HostRules {
 public:
  HostRules(ipvs::IptablesPort& runner, HostRulesOptions options);

  // Updates the LoadBalancer no-node-access drops of the replanned Services.
  void noteReplanned(const ipvs::DesiredState& desired, std::span<const ipvs::ObjectKey> keys);
  // Restores the families whose rules changed (all of them with `force`). `local` is the
  // node's current local-traffic detector (the first sync brings NodeCIDR's podCIDRs; a later
  // change of them ends the agent before it gets here, see agent/pod_cidr_gate.h).
  ipvs::Result<void> sync(const ipvs::KernelState& kernel, const ipvs::LocalDetector& local,
                          bool force);

 private:
  void removeIptablesModeChains(ipvs::Family family);
  ipvs::IptablesRuleInputs inputsFor(ipvs::Family family, const ipvs::KernelState& kernel,
                                     const ipvs::LocalDetector& local) const;

  ipvs::IptablesPort& runner_;
  HostRulesOptions options_;
  bool randomFully_ = false;
  std::map<ipvs::ObjectKey, std::vector<ipvs::VirtualServerKey>> drops_;
  std::map<ipvs::Family, std::string> applied_;  // the last text restored per family
  std::set<ipvs::Family> legacyRemoved_;         // iptables-mode leftovers already removed
};

}  // namespace reconcile
