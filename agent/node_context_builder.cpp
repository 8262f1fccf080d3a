#include "agent/node_context_builder.h"

#include <algorithm>

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
  return out;
}

}  // namespace agent
