#pragma once
// HostRules: keeps the kube-proxy IPVS-mode iptables chains in step with the desired state.
//
// Purpose: after each sync, renders the chains for each family from a handful of inputs (which
//   of the agent's ipsets are non-empty, the LoadBalancer VIPs the node must not reach) and runs
//   one iptables-restore per family when the rendered text changed (or was never applied), on
//   the caller's thread, before sync() returns: the first sync is not reported before the chains
//   exist. A full resync's forced restore with unchanged text (drift repair, 0.5 s of
//   iptables-save + iptables-restore per family) runs on a worker thread of its own instead, so
//   an endpoint change never waits for it; a request while a repair is queued or running is
//   coalesced into it. The rule count does not grow with the number of Services.
// Threading: sync() and noteReplanned() on the sync loop's thread only; the repair worker is
//   internal, at nice 19, as are the iptables it runs. Every call
//   into the IptablesPort holds one mutex, and a repair restores the inputs last applied for the
//   family, read under that mutex when it starts, so it never puts older rules back over newer
//   ones. A sync whose text changed while a repair runs waits for that mutex (rare: the rules text
//   rarely changes, and only then does the sync thread wait).
// Ownership: borrows the IptablesPort (netlink::IptablesRunner on a host), which must outlive
//   this object; owns the worker, which the destructor stops and joins (a running restore
//   finishes first, a queued repair is dropped).
// Errors: a failed restore is returned (the loop counts it as
//   kubeproxy_sync_proxy_rules_iptables_restore_failures_total) and retried at the next sync. A
//   failed repair drops the family's applied text, so the next sync restores it synchronously,
//   and its error is returned by that next sync().

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <system_error>
#include <thread>
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
  ~HostRules();
  HostRules(const HostRules&) = delete;
  HostRules& operator=(const HostRules&) = delete;

  // Updates the LoadBalancer no-node-access drops of the replanned Services.
  void noteReplanned(const ipvs::DesiredState& desired, std::span<const ipvs::ObjectKey> keys);
  // Restores the families whose rules changed and asks the worker to repair the others with
  // `force`. `local` is the node's current local-traffic detector (the first sync brings
  // NodeCIDR's podCIDRs; a later change of them ends the agent before it gets here, see
  // agent/pod_cidr_gate.h). The error is this call's restore failure, or else a repair's that
  // failed since the last call.
  ipvs::Result<void> sync(const ipvs::KernelState& kernel, const ipvs::LocalDetector& local,
                          bool force);
  // Blocks until no repair is queued or running (for tests).
  void waitForRepair();

 private:
  struct Applied {
    std::string text;
    ipvs::IptablesRuleInputs inputs;
  };

  // Both need runnerMutex_ held.
  ipvs::Result<void> restore(const ipvs::IptablesRuleInputs& in);
  void removeIptablesModeChains(ipvs::Family family);
  ipvs::IptablesRuleInputs inputsFor(ipvs::Family family, const ipvs::KernelState& kernel,
                                     const ipvs::LocalDetector& local) const;
  void requestRepair(const std::set<ipvs::Family>& families);
  void repairLoop();
  void repair(ipvs::Family family);

  ipvs::IptablesPort& runner_;
  HostRulesOptions options_;
  bool randomFully_ = false;
  std::map<ipvs::ObjectKey, std::vector<ipvs::VirtualServerKey>> drops_;  // sync thread only

  std::mutex runnerMutex_;                // held for every runner_ call
  std::set<ipvs::Family> legacyRemoved_;  // iptables-mode leftovers removed (runnerMutex_)

  std::mutex stateMutex_;  // short holds only, never across a runner_ call
  std::condition_variable repairChanged_;
  std::map<ipvs::Family, Applied> applied_;  // the last rules restored per family
  std::set<ipvs::Family> repairQueued_;      // the families the next repair restores
  bool repairRunning_ = false;
  bool stopping_ = false;
  std::optional<std::error_code> repairError_;  // for the next sync()
  std::thread worker_;                          // last: started once the rest exists
};

}  // namespace reconcile
