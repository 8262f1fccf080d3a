#include "reconcile/host_rules.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "ipvs/desired_state.h"

namespace reconcile {

namespace {

// The repair thread, and so the iptables-save and iptables-restore it runs (a child inherits its
// thread's nice value), at nice 19: on a busy CPU, a change's sync comes first. Linux nice values
// are per thread, and raising one needs no privilege. Not SCHED_IDLE, which a busy node could
// starve forever. The repair holds nothing the sync thread waits for in the meantime, except in
// the rare sync whose rules text changed (runnerMutex_).
void lowerThreadPriority() { setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19); }

}  // namespace

HostRules::HostRules(ipvs::IptablesPort& runner, HostRulesOptions options)
    : runner_(runner), options_(std::move(options)) {
  auto random = runner_.supportsRandomFully();
  randomFully_ = random && *random;
  worker_ = std::thread([this] {
    lowerThreadPriority();  // a change's sync comes before the repair and its iptables runs
    repairLoop();
  });
}

HostRules::~HostRules() {
  {
    std::lock_guard state(stateMutex_);
    stopping_ = true;
  }
  repairChanged_.notify_all();
  worker_.join();
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

ipvs::Result<void> HostRules::restore(const ipvs::IptablesRuleInputs& in) {
  // A full restore also re-creates missing jumps; runner.sync reads them from iptables-save.
  auto result = runner_.sync(in);
  if (result) removeIptablesModeChains(in.family);
  return result;
}

ipvs::Result<void> HostRules::sync(const ipvs::KernelState& kernel,
                                   const ipvs::LocalDetector& local, bool force) {
  ipvs::Result<void> outcome;
  std::set<ipvs::Family> repairs;
  {
    std::lock_guard state(stateMutex_);
    if (repairError_) outcome = *std::exchange(repairError_, std::nullopt);
  }
  for (const auto family : options_.families) {
    auto in = inputsFor(family, kernel, local);
    {
      // The text follows from the inputs: unchanged inputs skip rendering it, which took 5-37 ms
      // of the emulated CPU per family on every change at 10k Services (bench/README.md).
      std::lock_guard state(stateMutex_);
      auto last = applied_.find(family);
      if (last != applied_.end() && last->second.inputs == in) {
        if (force) repairs.insert(family);
        continue;
      }
    }
    std::string text = ipvs::renderRules(in);
    {
      std::lock_guard state(stateMutex_);
      auto last = applied_.find(family);
      if (last != applied_.end() && last->second.text == text) {
        last->second.inputs = std::move(in);  // other inputs, the same rules
        if (force) repairs.insert(family);
        continue;
      }
    }
    // Changed rules go out now. Waits for a running repair (of older rules): the repair
    // reads applied_ under runnerMutex_, so it can only restore what was last applied.
    std::lock_guard runner(runnerMutex_);
    auto result = restore(in);
    std::lock_guard state(stateMutex_);
    if (result) {
      applied_[family] = {std::move(text), std::move(in)};
    } else {
      applied_.erase(family);
      outcome = result.error();
    }
  }
  if (!repairs.empty()) requestRepair(repairs);
  return outcome;
}

void HostRules::requestRepair(const std::set<ipvs::Family>& families) {
  {
    std::lock_guard state(stateMutex_);
    repairQueued_.insert(families.begin(), families.end());
  }
  repairChanged_.notify_all();
}

void HostRules::waitForRepair() {
  std::unique_lock state(stateMutex_);
  repairChanged_.wait(state, [this] { return repairQueued_.empty() && !repairRunning_; });
}

void HostRules::repairLoop() {
  std::unique_lock state(stateMutex_);
  while (true) {
    repairChanged_.wait(state, [this] { return stopping_ || !repairQueued_.empty(); });
    if (stopping_) return;
    const auto families = std::exchange(repairQueued_, {});
    repairRunning_ = true;
    state.unlock();
    for (const auto family : families) repair(family);
    state.lock();
    repairRunning_ = false;
    repairChanged_.notify_all();  // waitForRepair()
  }
}

void HostRules::repair(ipvs::Family family) {
  std::lock_guard runner(runnerMutex_);
  // applied_ only changes under runnerMutex_, so this is the newest text until the restore ends.
  std::optional<ipvs::IptablesRuleInputs> in;
  {
    std::lock_guard state(stateMutex_);
    if (stopping_) return;
    // Gone after a failed restore: the next sync restores it on its own thread.
    if (auto it = applied_.find(family); it != applied_.end()) in = it->second.inputs;
  }
  if (!in) return;
  auto result = restore(*in);
  if (result) return;
  std::lock_guard state(stateMutex_);
  applied_.erase(family);
  repairError_ = result.error();
}

}  // namespace reconcile
