#include "agent/dry_run.h"

#include <algorithm>
#include <ostream>

#include "agent/node_context_builder.h"
#include "ipvs/ipvsadm_format.h"
#include "ipvs/memory_dataplane.h"
#include "k8swatch/manifest_source.h"
#include "reconcile/reconciler.h"

namespace agent {

namespace {

const ipvs::Node* findNode(const std::vector<ipvs::Node>& nodes, const std::string& name) {
  auto it =
      std::find_if(nodes.begin(), nodes.end(), [&](const ipvs::Node& n) { return n.name == name; });
  return it == nodes.end() ? nullptr : &*it;
}

void printAddresses(const ipvs::KernelState& state, std::ostream& out) {
  for (const auto& ip : state.boundAddresses)
    out << ip.toString() << (ip.isV4() ? "/32" : "/128") << " dev kube-ipvs0\n";
}

}  // namespace

int runDryRun(const Options& options, std::ostream& out, std::ostream& err) {
  const Config& config = options.config;
  auto manifests = k8swatch::loadManifests(config.agent.source);
  for (const auto& e : manifests.errors) err << "error: " << e << "\n";
  if (!manifests.ok()) return 1;
  for (const auto& r : manifests.rejects)
    err << "rejected " << k8swatch::resourceKindName(r.kind) << " " << r.object << " (" << r.reason
        << "): " << r.message << "\n";

  NodeInputs inputs;
  inputs.nodeName = config.hostnameOverride;
  inputs.node = findNode(manifests.nodes, inputs.nodeName);
  if (inputs.node == nullptr && !inputs.nodeName.empty())
    err << "warning: no Node named " << inputs.nodeName
        << " in the source: no NodePort addresses, no local endpoints\n";
  if (inputs.node != nullptr) inputs.candidateAddresses = inputs.node->addresses;
  auto node = buildNodeContext(config, inputs);
  for (const auto& w : node.warnings) err << "warning: " << w << "\n";

  ipvs::MemoryDataplane kernel;
  reconcile::Reconciler reconciler(kernel, {node.context, std::nullopt, {}});
  const auto now = ipvs::steadyClock().now();
  for (auto& svc : manifests.services) reconciler.upsertService(std::move(svc), now);
  for (auto& slice : manifests.slices) reconciler.upsertSlice(std::move(slice), now);
  const reconcile::SyncResult result = reconciler.sync(now, true);
  for (const auto& d : result.diagnostics)
    err << "diagnostic " << d.object.str() << " (" << d.reason << "): " << d.message << "\n";

  out << "# IPVS (ipvsadm -Sn)\n" << ipvs::formatIpvsadmSave(kernel.state());
  out << "# ipsets (ipset save)\n" << ipvs::formatIpsetSave(kernel.state().ipsetEntries);
  out << "# kube-ipvs0 addresses (ip addr)\n";
  printAddresses(kernel.state(), out);
  return 0;
}

}  // namespace agent
