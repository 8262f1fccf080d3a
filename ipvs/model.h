#pragma once
// The cluster objects the agent reads, reduced to what Service load balancing needs.
// k8swatch decodes Kubernetes JSON into these; the planner reads them. Everything here has
// already been validated by the decoder: addresses parse, ports are in range, names are set.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ipvs/address.h"
#include "ipvs/name.h"

namespace ipvs {

// namespace/name of a Kubernetes object. Services and EndpointSlices are namespaced; Nodes are not.
struct ObjectKey {
  std::string ns;
  std::string name;

  std::string str() const { return ns.empty() ? name : ns + "/" + name; }
  auto operator<=>(const ObjectKey&) const = default;
};

struct ObjectKeyHash {
  std::size_t operator()(const ObjectKey& k) const noexcept;
};

// Sorted by key, unique keys. Services carry few labels and annotations, so a vector beats a map.
using StringPairs = std::vector<std::pair<std::string, std::string>>;
const std::string* findValue(const StringPairs& pairs, std::string_view key);

enum class ServiceType : std::uint8_t { kClusterIP, kNodePort, kLoadBalancer, kExternalName };
enum class TrafficPolicy : std::uint8_t { kCluster, kLocal };

struct ServicePort {
  std::string name;
  Protocol protocol = Protocol::kTcp;
  std::uint16_t port = 0;
  std::uint16_t nodePort = 0;  // 0: none
  std::string targetPort;      // number or name, as written; real-server ports come from slices

  bool operator==(const ServicePort&) const = default;
};

struct Service {
  ObjectKey key;
  ServiceType type = ServiceType::kClusterIP;
  bool headless = false;                // spec.clusterIP == "None"
  std::vector<IpAddress> clusterIPs;    // spec.clusterIPs (or spec.clusterIP), any family
  std::vector<Family> ipFamilies;       // spec.ipFamilies
  std::vector<ServicePort> ports;
  std::vector<IpAddress> externalIPs;
  std::vector<IpAddress> loadBalancerIPs;  // status.loadBalancer.ingress[].ip, minus ipMode Proxy
  bool sessionAffinityClientIP = false;
  std::uint32_t sessionAffinityTimeoutSeconds = 10800;
  TrafficPolicy externalTrafficPolicy = TrafficPolicy::kCluster;
  TrafficPolicy internalTrafficPolicy = TrafficPolicy::kCluster;
  std::uint16_t healthCheckNodePort = 0;
  std::vector<Cidr> loadBalancerSourceRanges;
  StringPairs labels;
  StringPairs annotations;
  std::string resourceVersion;

  bool operator==(const Service&) const = default;
};

struct EndpointPort {
  std::string name;
  Protocol protocol = Protocol::kTcp;
  std::uint16_t port = 0;  // 0: the slice leaves the port unset; such ports are unusable

  bool operator==(const EndpointPort&) const = default;
};

struct Endpoint {
  IpAddress address;  // addresses[0]; kube-proxy uses only the first address
  // Conditions with the API's defaults applied: ready nil => true, serving nil => ready,
  // terminating nil => false.
  bool ready = true;
  bool serving = true;
  bool terminating = false;
  // Interned and compact: 10^5 endpoints share a few node and zone names (ipvs/name.h).
  Name nodeName;
  Name zone;
  NameList hintZones;  // hints.forZones[].name
  NameList hintNodes;  // hints.forNodes[].name

  bool operator==(const Endpoint&) const = default;
};

struct EndpointSlice {
  ObjectKey key;            // the slice's own namespace/name
  std::string serviceName;  // label kubernetes.io/service-name; the Service is {key.ns, serviceName}
  Family addressType = Family::kV4;  // FQDN slices are dropped by the decoder
  std::vector<EndpointPort> ports;
  std::vector<Endpoint> endpoints;
  std::string resourceVersion;

  ObjectKey serviceKey() const { return {key.ns, serviceName}; }
  bool operator==(const EndpointSlice&) const = default;
};

struct Node {
  std::string name;
  std::vector<IpAddress> addresses;  // status.addresses of type InternalIP and ExternalIP, in order
  std::vector<Cidr> podCIDRs;        // spec.podCIDRs (spec.podCIDR when absent), in order
  StringPairs labels;
  std::string resourceVersion;

  bool operator==(const Node&) const = default;
};

// Well-known label and annotation names.
inline constexpr std::string_view kLabelServiceName = "kubernetes.io/service-name";
inline constexpr std::string_view kLabelServiceProxyName = "service.kubernetes.io/service-proxy-name";
inline constexpr std::string_view kLabelHeadless = "service.kubernetes.io/headless";
inline constexpr std::string_view kLabelZone = "topology.kubernetes.io/zone";
inline constexpr std::string_view kAnnotationScheduler = "ipvs-agent.io/scheduler";
inline constexpr std::string_view kAnnotationSchedulerFlags = "ipvs-agent.io/scheduler-flags";
inline constexpr std::string_view kAnnotationKubeRouterScheduler = "kube-router.io/service.scheduler";
inline constexpr std::string_view kAnnotationKubeRouterFlags = "kube-router.io/service.schedflags";

}  // namespace ipvs
