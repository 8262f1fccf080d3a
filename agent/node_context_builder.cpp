#include "agent/node_context_builder.h"

#include <algorithm>

#include "agent/flags_table.h"

namespace agent {

namespace {

// The node's primary IP per family: --bind-address when it is a real address (kube-proxy's
// nodeIPOverride), else the first InternalIP/ExternalIP of the Node object.
std::vector<ipvs::IpAddress> primaryNodeIPs(const Config& config, const ipvs::Node* node) {
  std::vector<ipvs::IpAddress> ips;
  if (auto bind = ipvs::IpAddress::parse(config.bindAddress); bind && !bind->isUnspecified())
    ips.push_back(*bind);
  if (node != nullptr) {
    for (const auto& ip : node->addresses) {
      const bool haveFamily = std::any_of(ips.begin(), ips.end(), [&](const ipvs::IpAddress& a) {
        return a.family() == ip.family();
      });
      if (!haveFamily) ips.push_back(ip);
    }
  }
  return ips;
}

// What iptables-restore accepts after -i: an interface name (IFNAMSIZ - 1 characters) without
// blanks, quotes or '/'. Anything else would break, or add to, the restore text.
bool plainInterfaceName(std::string_view name, std::size_t maxSize) {
  if (name.empty() || name.size() > maxSize) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '@';
  });
}

// kube-proxy's getLocalDetectors (cmd/kube-proxy/app/server_linux.go). With NodeCIDR the agent,
// like kube-proxy, does not sync before the Node has podCIDRs and exits when they change
// (agent/pod_cidr_gate.h), so every context a sync uses has them; the context built before the
// Node is known (node == nullptr) is never synced and warns of nothing.
ipvs::LocalDetector localDetector(const Config& config, const ipvs::Node* node,
                                  std::vector<std::string>& warnings) {
  ipvs::LocalDetector d;
  const std::string mode = effectiveDetectLocalMode(config);
  if (mode == "ClusterCIDR") {
    for (const auto& part : splitList(config.clusterCIDR))
      if (auto cidr = ipvs::Cidr::parse(part)) d.cidrs.push_back(*cidr);
  } else if (mode == "NodeCIDR") {
    if (node != nullptr) d.cidrs = node->podCIDRs;
    if (node != nullptr && d.cidrs.empty())
      warnings.push_back(
          "detectLocalMode NodeCIDR: the Node has no spec.podCIDRs yet; local traffic is not "
          "told apart until it has");
  } else if (mode == "BridgeInterface" || mode == "InterfaceNamePrefix") {
    const bool bridge = mode == "BridgeInterface";
    const std::string& name =
        bridge ? config.detectLocal.bridgeInterface : config.detectLocal.interfaceNamePrefix;
    if (plainInterfaceName(name, bridge ? 15 : 14)) {  // the prefix gets a '+'
      d.interfaceMatch = bridge ? name : name + "+";
    } else {
      warnings.push_back(
          std::string(bridge ? "detectLocal.bridgeInterface" : "detectLocal.interfaceNamePrefix") +
          ": \"" + name + "\" is not an interface name; no local-traffic detector");
    }
  }
  return d;
}

}  // namespace

NodeContextResult buildNodeContext(const Config& config, const NodeInputs& inputs) {
  NodeContextResult out;
  ipvs::NodeContext& ctx = out.context;
  ctx.nodeName = inputs.nodeName;
  if (inputs.node != nullptr) {
    if (const auto* zone = ipvs::findValue(inputs.node->labels, ipvs::kLabelZone)) ctx.zone = *zone;
  }
  ctx.nodeIPs = primaryNodeIPs(config, inputs.node);
  ctx.families = inputs.families;
  if (ctx.families.empty()) {
    ctx.families.push_back(ipvs::Family::kV4);
    const bool v6 = std::any_of(ctx.nodeIPs.begin(), ctx.nodeIPs.end(),
                                [](const ipvs::IpAddress& ip) { return !ip.isV4(); });
    if (v6) ctx.families.push_back(ipvs::Family::kV6);
  }
  auto selection = ipvs::selectNodePortAddresses(inputs.candidateAddresses,
                                                 config.nodePortAddresses, ctx.nodeIPs);
  ctx.nodePortAddresses = std::move(selection.addresses);
  for (auto& e : selection.errors) out.warnings.push_back("nodePortAddresses: " + e);
  ctx.otherLocalAddresses = inputs.otherLocalAddresses;
  ctx.defaultScheduler = config.ipvs.scheduler.empty() ? "rr" : config.ipvs.scheduler;
  for (const auto& text : config.ipvs.excludeCIDRs) {
    if (auto cidr = ipvs::Cidr::parse(text)) ctx.excludeCIDRs.push_back(*cidr);
  }
  ctx.serviceProxyName = config.serviceProxyName;
  ctx.localDetector = localDetector(config, inputs.node, out.warnings);
  return out;
}

}  // namespace agent
