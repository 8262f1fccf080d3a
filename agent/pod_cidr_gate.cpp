#include "agent/pod_cidr_gate.h"

#include <utility>

namespace agent {

// Upstream, as read in kubernetes/kubernetes (master, 2025):
// - pkg/proxy/node.go NewNodeManager polls the Node until len(spec.podCIDRs) > 0, for at most
//   5 minutes, and newProxyServer (cmd/kube-proxy/app/server.go) fails start-up with the last
//   error, `node "NAME" does not have any PodCIDR allocated`. Releases before NodeManager had
//   waitForPodCIDR there, which waited for spec.podCIDR != "" && len(spec.podCIDRs) > 0 and
//   failed with "timeout waiting for PodCIDR allocation to configure detect-local-mode
//   NodeCIDR". Our decoder folds spec.podCIDR into podCIDRs, and the API server keeps
//   podCIDR == podCIDRs[0] whenever either is set, so both conditions read "podCIDRs non-empty".
//   The error line carries both texts so that either is found by a log search.
// - NodeManager.OnNodeChange exits 1 when the podCIDRs differ from the previous ones (logged as
//   "PodCIDRs changed for the node"); the older NodePodCIDRHandler logged "current PodCIDRs are
//   different than previous PodCIDRs, restarting" and exited 1 as well. Current upstream exits,
//   and so does the agent (through onChanged).

namespace {

std::string joined(const std::vector<ipvs::Cidr>& cidrs) {
  std::string out;
  for (const auto& c : cidrs) {
    if (!out.empty()) out += ',';
    out += c.toString();
  }
  return out;
}

}  // namespace

PodCidrGate::PodCidrGate(k8swatch::EventSink& next, PodCidrGateOptions options,
                         const ipvs::Clock& clock, Logger log, std::function<void()> onChanged)
    : next_(next),
      options_(std::move(options)),
      clock_(clock),
      deadline_(clock.now() + options_.timeout),
      log_(std::move(log)),
      onChanged_(std::move(onChanged)) {}

void PodCidrGate::nodeUpdated(ipvs::Node node) {
  if (node.name != options_.nodeName) {
    next_.nodeUpdated(std::move(node));
    return;
  }
  bool firstChange = false;
  std::string previous;
  {
    std::lock_guard lock(mutex_);
    if (podCIDRs_.empty()) {
      podCIDRs_ = node.podCIDRs;
    } else if (node.podCIDRs != podCIDRs_) {
      // Not forwarded: the agent is about to exit and must not program the new CIDRs first.
      firstChange = !changed_;
      changed_ = true;
      previous = joined(podCIDRs_);
    }
  }
  wake_.notify_all();
  if (previous.empty()) {
    next_.nodeUpdated(std::move(node));
    return;
  }
  if (!firstChange) return;
  log_.error(
      "detect-local-mode NodeCIDR: current Node PodCIDRs are different than previous PodCIDRs, "
      "restarting",
      {{"node", node.name}, {"newPodCIDRs", joined(node.podCIDRs)}, {"oldPodCIDRs", previous}});
  if (onChanged_) onChanged_();
}

void PodCidrGate::synced(k8swatch::ResourceKind kind) {
  if (kind == k8swatch::ResourceKind::kNode) {
    {
      std::lock_guard lock(mutex_);
      nodeListed_ = true;
    }
    wake_.notify_all();
  }
  next_.synced(kind);
}

std::optional<PodCidrGate::Outcome> PodCidrGate::outcomeLocked() const {
  if (!podCIDRs_.empty()) return Outcome::kReady;
  if (options_.listedIsFinal && nodeListed_) return Outcome::kNotListed;
  if (clock_.now() >= deadline_) return Outcome::kTimedOut;
  return std::nullopt;
}

PodCidrGate::Outcome PodCidrGate::wait(const std::function<bool()>& stopped, HealthState* health,
                                       std::chrono::milliseconds poll) {
  const std::string& node = options_.nodeName;
  if (health != nullptr) health->queuedUpdate();
  log_.info(
      "waiting for the Node's spec.podCIDRs (detect-local-mode NodeCIDR); nothing is "
      "programmed until then",
      {{"node", node}, {"timeout", Duration(options_.timeout)}});
  std::optional<Outcome> outcome;
  std::vector<ipvs::Cidr> cidrs;
  {
    std::unique_lock lock(mutex_);
    while (!(outcome = outcomeLocked())) {
      if (stopped && stopped()) return Outcome::kStopped;
      wake_.wait_for(lock, poll);
    }
    cidrs = podCIDRs_;
  }
  switch (*outcome) {
    case Outcome::kReady:
      log_.info("the Node has podCIDRs; detect-local-mode NodeCIDR uses the first of each family",
                {{"node", node}, {"podCIDRs", joined(cidrs)}});
      break;
    case Outcome::kTimedOut:
      log_.error("timeout waiting for PodCIDR allocation to configure detect-local-mode NodeCIDR",
                 {{"node", node},
                  {"timeout", Duration(options_.timeout)},
                  {"error", "node \"" + node + "\" does not have any PodCIDR allocated"}});
      break;
    case Outcome::kNotListed:
      log_.error(
          "detect-local-mode NodeCIDR needs the Node's spec.podCIDRs, and the source has no such "
          "Node (add spec.podCIDRs to the Node named after this host, or use another "
          "detectLocalMode)",
          {{"node", node}});
      break;
    case Outcome::kStopped:
      break;
  }
  return *outcome;
}

std::vector<ipvs::Cidr> PodCidrGate::podCIDRs() const {
  std::lock_guard lock(mutex_);
  return podCIDRs_;
}

bool PodCidrGate::changed() const {
  std::lock_guard lock(mutex_);
  return changed_;
}

}  // namespace agent
