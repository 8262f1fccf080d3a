#include "reconcile/host_rules.h"

#include <algorithm>

#include "ipvs/desired_state.h"

namespace reconcile {

HostRules::HostRules(ipvs::IptablesPort& runner, HostRulesOptions options)
    : runner_(runner), options_(std::move(options)) {
  auto random = runner_.supportsRandomFully();
  randomFully_ = random && *random;
}

void HostRules::noteReplanned(const ipvs::DesiredState& desired,
                              std::span<const ipvs::ObjectKey> keys) {
  for (const auto& key : keys) {
    const ipvs::ServiceDesired* svc = desired.service(key);
    if (svc == nullptr || svc->sourceRangeNodeDrops.empty()) {
      drops_.erase(key);
    } else {
      drops_[key] = svc->sourceRangeNodeDrops;
    }
  }
}

ipvs::IptablesRuleInputs HostRules::inputsFor(ipvs::Family family, const ipvs::KernelState& kernel,
                                              const ipvs::LocalDetector& local) const {
  ipvs::IptablesRuleInputs in;
  in.family = family;
  in.masqueradeAll = options_.masqueradeAll;
  in.localDetector = local;
  in.masqueradeBit = options_.masqueradeBit;
  in.randomFully = randomFully_;
  for (const auto& def : ipvs::ipsetDefs()) {
    // Entries are ordered by (set, family, entry): one lookup per set.
    const ipvs::IpsetEntry first{def.id, family, ""};
    auto it = kernel.ipsetEntries.lower_bound(first);
    in.nonEmpty[static_cast<std::size_t>(def.id)] =
        it != kernel.ipsetEntries.end() && it->set == def.id && it->family == family;
  }
  for (const auto& [service, keys] : drops_) {
    for (const auto& k : keys)
      if (k.family() == family) in.lbNoNodeAccess.push_back({k.address, k.protocol, k.port});
  }
  return in;
}

void HostRules::removeIptablesModeChains(ipvs::Family family) {
  // A node taken over from kube-proxy's iptables mode still has its KUBE-SVC-*/KUBE-SEP-*
  // chains. They go once our rules are in place, so traffic is never without a path.
  if (legacyRemoved_.count(family)) return;
  if (runner_.cleanup(family, {false, true})) legacyRemoved_.insert(family);
}

ipvs::Result<void> HostRules::sync(const ipvs::KernelState& kernel,
                                   const ipvs::LocalDetector& local, bool force) {
  ipvs::Result<void> outcome;
  for (const auto family : options_.families) {
    const auto in = inputsFor(family, kernel, local);
    const std::string text = ipvs::renderRules(in);
    auto last = applied_.find(family);
    if (!force && last != applied_.end() && last->second == text) continue;
    // A full restore also re-creates missing jumps; runner.sync reads them from iptables-save.
    auto result = runner_.sync(in);
    if (result) {
      applied_[family] = text;
      removeIptablesModeChains(family);
    } else {
      applied_.erase(family);
      outcome = result.error();
    }
  }
  return outcome;
}

}  // namespace reconcile
