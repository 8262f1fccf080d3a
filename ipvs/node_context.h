#pragma once
// What the planner needs to know about the node it runs on. The agent fills this from its
// config, the Node object and the host's interfaces; the planner treats it as read-only input.

#include <span>
#include <string>
#include <vector>

#include "ipvs/address.h"

namespace ipvs {

// kube-proxy's LocalTrafficDetector (pkg/proxy/util/localdetector.go), iptables side: how
// traffic from this node's pods is told apart. The IPVS proxier uses it in one rule, the
// KUBE-CLUSTER-IP masquerade in KUBE-SERVICES
// (docs/kube-proxy-behaviour.md#masquerading-masqueradeall-clustercidr-detect-local).
struct LocalDetector {
  // ClusterCIDR (the cluster CIDRs) or NodeCIDR (the Node's spec.podCIDRs): the first CIDR of
  // each family is used, as kube-proxy keeps one per family.
  std::vector<Cidr> cidrs;
  // BridgeInterface ("cbr0") or InterfaceNamePrefix ("veth+", iptables' wildcard); checked to be
  // a plain interface name by the agent. Used for both families.
  std::string interfaceMatch;

  // The arguments matching traffic NOT from a local pod ("! -s 10.244.0.0/16", "! -i cbr0");
  // empty when there is no detector for `family` (kube-proxy's IsImplemented() false).
  std::string ifNotLocal(Family family) const;

  bool operator==(const LocalDetector&) const = default;
};

struct NodeContext {
  std::string nodeName;
  std::string zone;                // Node label topology.kubernetes.io/zone; "" if unset
  std::vector<Family> families;    // families this agent handles (one or both)
  std::vector<IpAddress> nodeIPs;  // the node's primary IP per family (Node status / override)
  std::vector<IpAddress> nodePortAddresses;  // already selected; see selectNodePortAddresses
  // Addresses on interfaces other than kube-ipvs0. An externalIP or LB IP found here is served
  // but not bound again on kube-ipvs0 (docs/kube-proxy-behaviour.md#frontends).
  std::vector<IpAddress> otherLocalAddresses;
  std::string defaultScheduler = "rr";
  std::vector<std::string> defaultSchedulerFlags;  // e.g. {"sh-port"}; empty: scheduler default
  std::string serviceProxyName;  // handle only Services with this service-proxy-name label value
  std::vector<Cidr> excludeCIDRs;
  LocalDetector localDetector;

  bool handles(Family f) const;
};

struct NodePortAddressSelection {
  std::vector<IpAddress> addresses;  // sorted, unique
  std::vector<std::string> errors;   // one per rejected spec string
};

// Chooses the addresses NodePort virtual servers listen on (kube-proxy --nodeport-addresses):
//  - no spec: every candidate except loopback and IPv6 link-local (kube-proxy's
//    GetAllLocalAddressesExcept(kube-ipvs0) filtered by isValidForSet);
//  - CIDRs: the candidates inside any of them, minus loopback;
//  - the single word "primary": the primary node IPs (minus loopback).
// `candidates` are the host's addresses except those on kube-ipvs0. A spec string that is not a
// CIDR (or "primary" mixed with CIDRs) is reported in `errors` and skipped.
NodePortAddressSelection selectNodePortAddresses(std::span<const IpAddress> candidates,
                                                 std::span<const std::string> specs,
                                                 std::span<const IpAddress> primaryNodeIPs);

}  // namespace ipvs
