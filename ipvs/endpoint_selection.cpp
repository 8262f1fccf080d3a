#include "ipvs/endpoint_selection.h"

#include <algorithm>
#include <string>

namespace ipvs {
namespace {

enum class Topology { kNone, kSameNode, kSameZone };

bool contains(const NameList& v, const std::string& s) { return v.contains(s); }

Topology topologyMode(std::span<const EndpointView> eps, const NodeContext& node) {
  bool allNodeHints = true, forNode = false, allZoneHints = true, forZone = false;
  for (const auto& v : eps) {
    const Endpoint& ep = *v.endpoint;
    if (!ep.ready) continue;
    if (ep.hintNodes.empty()) {
      allNodeHints = false;
    } else if (contains(ep.hintNodes, node.nodeName)) {
      forNode = true;
    }
    if (ep.hintZones.empty()) {
      allZoneHints = false;
    } else if (!node.zone.empty() && contains(ep.hintZones, node.zone)) {
      forZone = true;
    }
  }
  if (allNodeHints && forNode) return Topology::kSameNode;
  if (allZoneHints && forZone) return Topology::kSameZone;
  return Topology::kNone;
}

bool availableForTopology(const Endpoint& ep, Topology mode, const NodeContext& node) {
  switch (mode) {
    case Topology::kSameNode:
      return contains(ep.hintNodes, node.nodeName);
    case Topology::kSameZone:
      return contains(ep.hintZones, node.zone);
    case Topology::kNone:
      break;
  }
  return true;
}

bool servingTerminating(const Endpoint& ep) { return ep.serving && ep.terminating; }

}  // namespace

EndpointCategories categorizeEndpoints(std::span<const EndpointView> eps, bool usesCluster,
                                       bool usesLocal, const NodeContext& node) {
  EndpointCategories out;
  if (usesCluster) {
    const Topology mode = topologyMode(eps, node);
    for (const auto& v : eps) {
      if (v.endpoint->ready && availableForTopology(*v.endpoint, mode, node)) {
        out.cluster.push_back(&v);
      }
    }
    if (out.cluster.empty()) {
      for (const auto& v : eps) {
        if (servingTerminating(*v.endpoint)) out.cluster.push_back(&v);
      }
    }
    out.hasAnyEndpoints = !out.cluster.empty();
  }
  if (!usesLocal) return out;
  bool localReady = false, localServingTerminating = false;
  for (const auto& v : eps) {
    if (v.endpoint->ready) {
      out.hasAnyEndpoints = true;
      localReady = localReady || v.local;
    } else if (servingTerminating(*v.endpoint)) {
      out.hasAnyEndpoints = true;
      localServingTerminating = localServingTerminating || v.local;
    }
  }
  for (const auto& v : eps) {
    if (!v.local) continue;
    if (localReady ? v.endpoint->ready
                   : localServingTerminating && servingTerminating(*v.endpoint)) {
      out.local.push_back(&v);
    }
  }
  return out;
}

}  // namespace ipvs
