#include "ipvs/kernel_objects.h"

namespace ipvs {

const std::array<IpsetDef, kIpsetCount>& ipsetDefs() {
  static const std::array<IpsetDef, kIpsetCount> kDefs{{
      {IpsetId::kLoopBack, "KUBE-LOOP-BACK", "hash:ip,port,ip",
       "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose"},
      {IpsetId::kClusterIP, "KUBE-CLUSTER-IP", "hash:ip,port",
       "Kubernetes service cluster ip + port for masquerade purpose"},
      {IpsetId::kExternalIP, "KUBE-EXTERNAL-IP", "hash:ip,port",
       "Kubernetes service external ip + port for masquerade and filter purpose"},
      {IpsetId::kExternalIPLocal, "KUBE-EXTERNAL-IP-LOCAL", "hash:ip,port",
       "Kubernetes service external ip + port with externalTrafficPolicy=local"},
      {IpsetId::kLoadBalancer, "KUBE-LOAD-BALANCER", "hash:ip,port",
       "Kubernetes service lb portal"},
      {IpsetId::kLoadBalancerFW, "KUBE-LOAD-BALANCER-FW", "hash:ip,port",
       "Kubernetes service load balancer ip + port for load balancer with sourceRange"},
      {IpsetId::kLoadBalancerLocal, "KUBE-LOAD-BALANCER-LOCAL", "hash:ip,port",
       "Kubernetes service load balancer ip + port with externalTrafficPolicy=local"},
      {IpsetId::kLoadBalancerSourceIP, "KUBE-LOAD-BALANCER-SOURCE-IP", "hash:ip,port,ip",
       "Kubernetes service load balancer ip + port + source IP for packet filter purpose"},
      {IpsetId::kLoadBalancerSourceCIDR, "KUBE-LOAD-BALANCER-SOURCE-CIDR", "hash:ip,port,net",
       "Kubernetes service load balancer ip + port + source cidr for packet filter purpose"},
      {IpsetId::kNodePortTcp, "KUBE-NODE-PORT-TCP", "bitmap:port",
       "Kubernetes nodeport TCP port for masquerade purpose"},
      {IpsetId::kNodePortLocalTcp, "KUBE-NODE-PORT-LOCAL-TCP", "bitmap:port",
       "Kubernetes nodeport TCP port with externalTrafficPolicy=local"},
      {IpsetId::kNodePortUdp, "KUBE-NODE-PORT-UDP", "bitmap:port",
       "Kubernetes nodeport UDP port for masquerade purpose"},
      {IpsetId::kNodePortLocalUdp, "KUBE-NODE-PORT-LOCAL-UDP", "bitmap:port",
       "Kubernetes nodeport UDP port with externalTrafficPolicy=local"},
      {IpsetId::kNodePortSctp, "KUBE-NODE-PORT-SCTP-HASH", "hash:ip,port",
       "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'"},
      {IpsetId::kNodePortLocalSctp, "KUBE-NODE-PORT-LOCAL-SCTP-HASH", "hash:ip,port",
       "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'"},
      {IpsetId::kHealthCheckNodePort, "KUBE-HEALTH-CHECK-NODE-PORT", "bitmap:port",
       "Kubernetes health check node port"},
      {IpsetId::kIpvsIps, "KUBE-IPVS-IPS", "hash:ip", "Addresses on the ipvs interface"},
  }};
  return kDefs;
}

const IpsetDef& ipsetDef(IpsetId id) { return ipsetDefs()[static_cast<std::size_t>(id)]; }

std::string ipsetName(IpsetId id, Family family) {
  const std::string_view name = ipsetDef(id).name;
  if (family == Family::kV4) return std::string(name);
  // "KUBE-" + rest  =>  "KUBE-6-" + rest, truncated to the 31-character ipset name limit.
  std::string v6 = "KUBE-6-" + std::string(name.substr(5));
  if (v6.size() > 31) v6.resize(31);
  return v6;
}

}  // namespace ipvs
