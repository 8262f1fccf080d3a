#pragma once
// Which endpoints of one Service port a virtual server uses: kube-proxy's CategorizeEndpoints
// (pkg/proxy/topology.go) as of v1.33, docs/kube-proxy-behaviour.md#endpoint-selection.
//  - cluster list: ready endpoints, narrowed by topology hints when they are usable; if none is
//    ready, serving+terminating ones (ProxyTerminatingEndpoints); never not-serving ones.
//  - local list: this node's ready endpoints, else its serving+terminating ones.
// Topology hints apply to the cluster list whenever every ready endpoint carries a hint and one
// matches this node (forNodes) or zone (forZones); node hints win (PreferSameNode). Recent
// kube-proxy applies them regardless of the traffic policies; so do we.

#include <cstdint>
#include <span>
#include <vector>

#include "ipvs/address.h"
#include "ipvs/model.h"
#include "ipvs/node_context.h"

namespace ipvs {

// One endpoint seen through one Service port: the slice port that matched it.
struct EndpointView {
  const Endpoint* endpoint = nullptr;
  std::uint16_t port = 0;
  bool local = false;  // endpoint.nodeName == this node

  const IpAddress& address() const { return endpoint->address; }
};

struct EndpointCategories {
  std::vector<const EndpointView*> cluster;  // filled only if usesCluster
  std::vector<const EndpointView*> local;    // filled only if usesLocal
  bool hasAnyEndpoints = false;  // some endpoint anywhere is usable (ready or serving+terminating)
};

EndpointCategories categorizeEndpoints(std::span<const EndpointView> endpoints, bool usesCluster,
                                       bool usesLocal, const NodeContext& node);

}  // namespace ipvs
