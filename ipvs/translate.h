#pragma once
// Translation of one Service and its EndpointSlices into the kernel objects it needs: the unit
// of incremental work. A pure function: same input, same output (slice order does not matter).
// Semantics are those of kube-proxy's IPVS mode (docs/kube-proxy-behaviour.md).
//
// Ignored (empty result, ignoredReason set): ExternalName, headless, and Services whose
// service.kubernetes.io/service-proxy-name label does not match NodeContext::serviceProxyName
// (when that is empty, any labelled Service is ignored).
// Per Service port and per handled family (a family is handled for a Service only if the
// Service has a clusterIP of that family, like kube-proxy's per-family proxiers):
//  - one VS for the clusterIP, each externalIP, each LB ingress IP, and (nodePort != 0) one per
//    NodeContext::nodePortAddresses entry of that family; a key produced twice is kept once
//    (first in that order) with a "duplicate_virtual_server" diagnostic;
//  - real servers: weight 1, masquerade, port from the EndpointSlice port of the same name and
//    protocol (port 0 unusable); an endpoint listed twice counts once with its best conditions;
//    chosen per endpoint_selection.h, with IPVS's fallback to the cluster list when a Local
//    policy finds no local endpoint (noLocalEndpoints* flags, as kube-proxy's metric);
//  - ClientIP affinity: kFlagPersistent + timeout. The persistence netmask of every VS is 32
//    (IPv4) or 128 (IPv6): kube-proxy's toIPVSService sets 0xffffffff/128, which is also
//    ipvsadm's default (-M absent), so `ipvsadm -Sn` prints no -M;
//  - scheduler and flags per scheduler.h;
//  - binds: clusterIP, externalIPs and LB IPs, except addresses already on another interface
//    (NodeContext::otherLocalAddresses); each bound address is also in KUBE-IPVS-IPS;
//  - ipset members as `ipset save` prints them (ipset_entries.h): CLUSTER-IP, EXTERNAL-IP or
//    EXTERNAL-IP-LOCAL (eTP Local), LOAD-BALANCER (+ -LOCAL, + -FW, SOURCE-CIDR, SOURCE-IP when
//    a source range holds a node IP), NODE-PORT-TCP/UDP (bitmap) or -SCTP-HASH (per node IP),
//    their -LOCAL variants, HEALTH-CHECK-NODE-PORT (LoadBalancer + eTP Local only), and
//    LOOP-BACK for every local endpoint whatever its conditions. A 0.0.0.0/0 (::/0) source
//    range, which hash:ip,port,net cannot hold, is written as its two /1 halves.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ipvs/diagnostic.h"
#include "ipvs/kernel_objects.h"
#include "ipvs/model.h"
#include "ipvs/node_context.h"

namespace ipvs {

struct DesiredVirtualServer {
  VirtualServer server;
  std::vector<RealServer> realServers;  // sorted by key, unique

  bool operator==(const DesiredVirtualServer&) const = default;
};

struct HealthCheck {
  std::uint16_t nodePort = 0;             // non-zero only for type LoadBalancer + eTP Local
  std::uint32_t localReadyEndpoints = 0;  // distinct ready endpoints on this node
  bool operator==(const HealthCheck&) const = default;
};

struct ServiceDesired {
  ObjectKey key;
  // "headless", "external_name", "service_proxy_name", "too_many_kernel_objects"; else "".
  std::string ignoredReason;
  std::vector<DesiredVirtualServer> virtualServers;  // sorted by key, unique keys
  std::vector<IpsetEntry> ipsetEntries;              // sorted, unique
  std::vector<IpAddress> bindAddresses;              // to bind on kube-ipvs0; sorted, unique
  // LB VIP:port/proto whose loadBalancerSourceRanges exclude the node IP: the iptables layer
  // drops node-originated traffic to them (docs/kube-proxy-behaviour.md#source-ranges). Sorted.
  std::vector<VirtualServerKey> sourceRangeNodeDrops;
  std::vector<Diagnostic> diagnostics;
  HealthCheck healthCheck;
  bool noLocalEndpointsInternal = false;  // iTP Local fell back (no_local_endpoints metric)
  bool noLocalEndpointsExternal = false;  // eTP Local fell back

  bool operator==(const ServiceDesired&) const = default;
};

// Translation multiplies: every port of a Service gets one virtual server per address it is
// reachable on, each holding every endpoint. Objects that are each within the decoders' bounds
// (1,000 ports, 1,000 endpoints per slice, 1,000 addresses per list) can therefore ask for 10^7
// real servers, or 10^6 virtual servers with no endpoint at all: gigabytes of desired state from
// a manifest under 1 MB. A Service whose virtual servers, real servers and source-range ipset
// members would exceed this bound is rejected before anything is expanded: its result is
// empty, ignoredReason is "too_many_kernel_objects", and one kReasonTooManyKernelObjects
// diagnostic names the Service and gives the numbers. Other Services are not affected.
// 100k is far above real Services (5,000 endpoints behind a few ports and node addresses stay
// under it), while it caps one Service's desired state at a few MB (a RealServer is some 40
// bytes, held again in the observed state and the plan).
inline constexpr std::size_t kMaxKernelObjectsPerService = 100'000;
inline constexpr const char* kIgnoredTooManyKernelObjects = "too_many_kernel_objects";

// `slices` are the Service's EndpointSlices (others are ignored); their order does not matter.
ServiceDesired translate(const Service& service, std::span<const EndpointSlice* const> slices,
                         const NodeContext& node);

}  // namespace ipvs
