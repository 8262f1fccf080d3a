#include "ipvs/translate.h"

#include <algorithm>

#include "ipvs/endpoint_selection.h"
#include "ipvs/ipset_entries.h"
#include "ipvs/key_order.h"
#include "ipvs/scheduler.h"

namespace ipvs {
namespace {

// What one family of a Service looks like to a single-family proxier.
struct FamilyView {
  Family family = Family::kV4;
  IpAddress clusterIP;
  std::vector<IpAddress> externalIPs;
  std::vector<IpAddress> lbIPs;
  std::vector<IpAddress> nodePortAddresses;
  std::vector<Cidr> sourceRanges;
  std::vector<const EndpointSlice*> slices;  // sorted by key
};

template <class T>
std::vector<T> ofFamily(const std::vector<T>& v, Family f) {
  std::vector<T> out;
  for (const auto& x : v) {
    if (x.family() == f) out.push_back(x);
  }
  return out;
}

template <class T>
void sortUnique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

int conditionRank(const Endpoint& ep) { return ep.ready ? 2 : (ep.serving ? 1 : 0); }

std::vector<RealServer> toRealServers(const std::vector<const EndpointView*>& eps) {
  std::vector<RealServer> out;
  out.reserve(eps.size());
  for (const auto* v : eps) {
    RealServer rs;
    rs.key = {v->address(), v->port};
    out.push_back(rs);
  }
  return out;  // the views are sorted and unique by (address, port)
}

std::string ignoredReason(const Service& svc, const NodeContext& node) {
  if (svc.type == ServiceType::kExternalName) return "external_name";
  if (svc.headless) return "headless";
  const std::string* proxyName = findValue(svc.labels, kLabelServiceProxyName);
  if (node.serviceProxyName.empty()
          ? proxyName != nullptr
          : (proxyName == nullptr || *proxyName != node.serviceProxyName)) {
    return "service_proxy_name";
  }
  return {};
}

std::size_t countOfFamily(const std::vector<IpAddress>& v, Family f) {
  return static_cast<std::size_t>(
      std::count_if(v.begin(), v.end(), [f](const IpAddress& ip) { return ip.family() == f; }));
}

// Endpoints of `f` that carry service port `sp` (before de-duplication, so an upper bound).
std::size_t endpointsFor(const ServicePort& sp, Family f,
                         const std::vector<const EndpointSlice*>& slices) {
  std::size_t n = 0;
  for (const auto* s : slices) {
    if (s->addressType != f) continue;
    const bool carries = std::any_of(s->ports.begin(), s->ports.end(), [&](const auto& p) {
      return p.port != 0 && p.name == sp.name && p.protocol == sp.protocol;
    });
    if (carries) n += s->endpoints.size();
  }
  return n;
}

// The kernel objects translation would create, counted without creating them: per handled
// family and port, each virtual server and its real servers (one per endpoint behind the
// port), plus the source-range ipset members of each LB IP (a /0 is written as two). Every other
// ipset member is one per virtual server or per endpoint, so this bounds them too. Stops once
// past the bound, so an absurd Service costs no more to refuse than a legal one to count.
std::size_t kernelObjectCount(const Service& svc, const std::vector<const EndpointSlice*>& slices,
                              const NodeContext& node) {
  std::size_t total = 0;
  for (Family f : {Family::kV4, Family::kV6}) {
    if (!node.handles(f) || countOfFamily(svc.clusterIPs, f) == 0) continue;
    const std::size_t lbIPs = countOfFamily(svc.loadBalancerIPs, f);
    const std::size_t perPort = 1 + countOfFamily(svc.externalIPs, f) + lbIPs;
    const std::size_t nodePorts = countOfFamily(node.nodePortAddresses, f);
    const std::size_t rangeEntries =
        lbIPs * 2 *
        static_cast<std::size_t>(std::count_if(svc.loadBalancerSourceRanges.begin(),
                                               svc.loadBalancerSourceRanges.end(),
                                               [f](const Cidr& c) { return c.family() == f; }));
    for (const auto& sp : svc.ports) {
      const std::size_t servers = perPort + (sp.nodePort != 0 ? nodePorts : 0);
      total += servers * (1 + endpointsFor(sp, f, slices)) + rangeEntries;
      if (total > kMaxKernelObjectsPerService) return total;
    }
  }
  return total;
}

class Translator {
 public:
  Translator(const Service& svc, const NodeContext& node, ServiceDesired& out)
      : svc_(svc), node_(node), out_(out), sched_(selectScheduler(svc, node, out.diagnostics)) {}

  void run(std::span<const EndpointSlice* const> slices);

 private:
  void translateFamily(const FamilyView& fam);
  void translatePort(const FamilyView& fam, const ServicePort& sp);
  void addLoadBalancer(const FamilyView& fam, const ServicePort& sp, const IpAddress& ip,
                       bool eLocal, const std::vector<RealServer>& rs);
  void addNodePorts(const FamilyView& fam, const ServicePort& sp, bool eLocal,
                    const std::vector<RealServer>& rs);
  std::vector<EndpointView> gather(const FamilyView& fam, const ServicePort& sp) const;
  void addVirtualServer(const VirtualServerKey& key, const std::vector<RealServer>& rs);
  void bind(const IpAddress& ip);
  void addEntry(IpsetEntry e) { out_.ipsetEntries.push_back(std::move(e)); }
  void countLocalReady(std::span<const EndpointSlice* const> slices);
  void reject(std::size_t objects, std::size_t slices, std::size_t endpoints);
  void finish();

  const Service& svc_;
  const NodeContext& node_;
  ServiceDesired& out_;
  SchedulerSetting sched_;
};

void Translator::run(std::span<const EndpointSlice* const> slices) {
  std::vector<const EndpointSlice*> mine;
  std::size_t endpoints = 0;
  for (const auto* s : slices) {
    if (s != nullptr && s->serviceKey() == svc_.key) {
      mine.push_back(s);
      endpoints += s->endpoints.size();
    }
  }
  if (const std::size_t n = kernelObjectCount(svc_, mine, node_); n > kMaxKernelObjectsPerService) {
    reject(n, mine.size(), endpoints);
    return;
  }
  std::sort(mine.begin(), mine.end(), [](auto* a, auto* b) { return a->key < b->key; });
  for (Family f : {Family::kV4, Family::kV6}) {
    if (!node_.handles(f)) continue;
    const auto cip = std::find_if(svc_.clusterIPs.begin(), svc_.clusterIPs.end(),
                                  [f](const IpAddress& ip) { return ip.family() == f; });
    if (cip == svc_.clusterIPs.end()) continue;  // single-stack Service of the other family
    FamilyView fam;
    fam.family = f;
    fam.clusterIP = *cip;
    fam.externalIPs = ofFamily(svc_.externalIPs, f);
    fam.lbIPs = ofFamily(svc_.loadBalancerIPs, f);
    fam.nodePortAddresses = ofFamily(node_.nodePortAddresses, f);
    fam.sourceRanges = ofFamily(svc_.loadBalancerSourceRanges, f);
    for (const auto* s : mine) {
      if (s->addressType == f) fam.slices.push_back(s);
    }
    translateFamily(fam);
    countLocalReady(fam.slices);
  }
  finish();
}

void Translator::translateFamily(const FamilyView& fam) {
  for (const auto& sp : svc_.ports) translatePort(fam, sp);
  const bool needsHealthCheck = svc_.type == ServiceType::kLoadBalancer &&
                                svc_.externalTrafficPolicy == TrafficPolicy::kLocal &&
                                svc_.healthCheckNodePort != 0;
  if (needsHealthCheck) {
    out_.healthCheck.nodePort = svc_.healthCheckNodePort;
    addEntry(portEntry(IpsetId::kHealthCheckNodePort, fam.family, svc_.healthCheckNodePort));
  }
}

std::vector<EndpointView> Translator::gather(const FamilyView& fam, const ServicePort& sp) const {
  std::vector<EndpointView> views;
  std::size_t total = 0;
  for (const auto* slice : fam.slices) total += slice->endpoints.size();
  views.reserve(total);
  for (const auto* slice : fam.slices) {
    const auto port = std::find_if(slice->ports.begin(), slice->ports.end(), [&](const auto& p) {
      return p.name == sp.name && p.protocol == sp.protocol;
    });
    if (port == slice->ports.end() || port->port == 0) continue;
    for (const auto& ep : slice->endpoints) {
      if (ep.address.family() != fam.family) continue;
      const bool local = !ep.nodeName.empty() && ep.nodeName == node_.nodeName;
      views.push_back({&ep, port->port, local});
    }
  }
  // An endpoint listed twice (several slices, or a duplicate): keep the one with the best
  // conditions, the first on ties.
  std::stable_sort(views.begin(), views.end(), [](const EndpointView& a, const EndpointView& b) {
    if (const int c = keyorder::compare(a.address(), b.address()); c != 0) return c < 0;
    if (a.port != b.port) return a.port < b.port;
    return conditionRank(*a.endpoint) > conditionRank(*b.endpoint);
  });
  views.erase(std::unique(views.begin(), views.end(),
                          [](const EndpointView& a, const EndpointView& b) {
                            return a.port == b.port &&
                                   keyorder::compare(a.address(), b.address()) == 0;
                          }),
              views.end());
  return views;
}

void Translator::translatePort(const FamilyView& fam, const ServicePort& sp) {
  const auto eps = gather(fam, sp);
  const bool externallyAccessible =
      sp.nodePort != 0 || !fam.externalIPs.empty() || !fam.lbIPs.empty();
  const bool iLocal = svc_.internalTrafficPolicy == TrafficPolicy::kLocal;
  const bool eLocal = externallyAccessible && svc_.externalTrafficPolicy == TrafficPolicy::kLocal;
  const auto cat = categorizeEndpoints(eps, !iLocal || (externallyAccessible && !eLocal),
                                       iLocal || eLocal, node_);
  const auto clusterRs = toRealServers(cat.cluster);
  const auto localRs = toRealServers(cat.local);
  // kube-proxy IPVS (PR #97081): a Local policy with no local endpoint uses the cluster list.
  auto pick = [&](bool onlyLocal) -> const std::vector<RealServer>& {
    if (!onlyLocal) return clusterRs;
    if (!localRs.empty()) return localRs;
    if (cat.hasAnyEndpoints && iLocal) out_.noLocalEndpointsInternal = true;
    if (cat.hasAnyEndpoints && eLocal) out_.noLocalEndpointsExternal = true;
    return clusterRs;
  };
  const Protocol proto = sp.protocol;

  addVirtualServer({fam.clusterIP, proto, sp.port, 0}, pick(iLocal));
  addEntry(ipPortEntry(IpsetId::kClusterIP, fam.clusterIP, proto, sp.port));
  bind(fam.clusterIP);

  for (const auto& ip : fam.externalIPs) {
    addEntry(
        ipPortEntry(eLocal ? IpsetId::kExternalIPLocal : IpsetId::kExternalIP, ip, proto, sp.port));
    addVirtualServer({ip, proto, sp.port, 0}, pick(eLocal));
    bind(ip);
  }
  for (const auto& ip : fam.lbIPs) addLoadBalancer(fam, sp, ip, eLocal, pick(eLocal));
  if (sp.nodePort != 0) addNodePorts(fam, sp, eLocal, pick(eLocal));

  // Hairpin SNAT for every local endpoint (docs/kube-proxy-behaviour.md#endpoint-selection).
  for (const auto& v : eps) {
    if (v.local)
      addEntry(ipPortIpEntry(IpsetId::kLoopBack, v.address(), proto, v.port, v.address()));
  }
}

void Translator::addLoadBalancer(const FamilyView& fam, const ServicePort& sp, const IpAddress& ip,
                                 bool eLocal, const std::vector<RealServer>& rs) {
  const Protocol proto = sp.protocol;
  addEntry(ipPortEntry(IpsetId::kLoadBalancer, ip, proto, sp.port));
  if (eLocal) addEntry(ipPortEntry(IpsetId::kLoadBalancerLocal, ip, proto, sp.port));
  if (!fam.sourceRanges.empty()) {
    addEntry(ipPortEntry(IpsetId::kLoadBalancerFW, ip, proto, sp.port));
    bool allowFromNode = false;
    for (const auto& cidr : fam.sourceRanges) {
      if (cidr.prefix() == 0) {
        // hash:ip,port,net cannot hold a /0; two /1 halves cover the same addresses.
        auto upper = cidr.base().bytes();
        upper[0] = 0x80;
        addEntry(ipPortNetEntry(IpsetId::kLoadBalancerSourceCIDR, ip, proto, sp.port,
                                Cidr(cidr.base(), 1)));
        addEntry(ipPortNetEntry(IpsetId::kLoadBalancerSourceCIDR, ip, proto, sp.port,
                                Cidr(IpAddress::fromBytes(fam.family, upper.data()), 1)));
      } else {
        addEntry(ipPortNetEntry(IpsetId::kLoadBalancerSourceCIDR, ip, proto, sp.port, cidr));
      }
      for (const auto& nodeIP : node_.nodeIPs)
        allowFromNode = allowFromNode || cidr.contains(nodeIP);
    }
    if (allowFromNode) {
      addEntry(ipPortIpEntry(IpsetId::kLoadBalancerSourceIP, ip, proto, sp.port, ip));
    } else {
      out_.sourceRangeNodeDrops.push_back({ip, proto, sp.port, 0});
    }
  }
  addVirtualServer({ip, proto, sp.port, 0}, rs);
  bind(ip);
}

void Translator::addNodePorts(const FamilyView& fam, const ServicePort& sp, bool eLocal,
                              const std::vector<RealServer>& rs) {
  const Protocol proto = sp.protocol;
  auto addPortEntries = [&](IpsetId tcp, IpsetId udp, IpsetId sctp) {
    if (proto == Protocol::kSctp) {
      // SCTP node ports: one member per node IP (docs/kube-proxy-behaviour.md#protocols).
      for (const auto& ip : fam.nodePortAddresses) {
        addEntry(ipPortEntry(sctp, ip, proto, sp.nodePort));
      }
    } else {
      addEntry(portEntry(proto == Protocol::kTcp ? tcp : udp, fam.family, sp.nodePort));
    }
  };
  addPortEntries(IpsetId::kNodePortTcp, IpsetId::kNodePortUdp, IpsetId::kNodePortSctp);
  if (eLocal) {
    addPortEntries(IpsetId::kNodePortLocalTcp, IpsetId::kNodePortLocalUdp,
                   IpsetId::kNodePortLocalSctp);
  }
  for (const auto& ip : fam.nodePortAddresses) addVirtualServer({ip, proto, sp.nodePort, 0}, rs);
}

void Translator::addVirtualServer(const VirtualServerKey& key, const std::vector<RealServer>& rs) {
  DesiredVirtualServer d;
  d.server.key = key;
  d.server.scheduler = sched_.scheduler;
  d.server.flags = sched_.flags;
  if (svc_.sessionAffinityClientIP) {
    d.server.flags |= kFlagPersistent;
    d.server.timeout = svc_.sessionAffinityTimeoutSeconds;
  }
  d.server.netmask = key.address.isV4() ? 32 : 128;
  d.realServers = rs;
  out_.virtualServers.push_back(std::move(d));
}

void Translator::bind(const IpAddress& ip) {
  if (std::find(node_.otherLocalAddresses.begin(), node_.otherLocalAddresses.end(), ip) !=
      node_.otherLocalAddresses.end()) {
    return;  // local elsewhere: served, not bound (docs/kube-proxy-behaviour.md#frontends)
  }
  out_.bindAddresses.push_back(ip);
  addEntry(ipEntry(IpsetId::kIpvsIps, ip));
}

void Translator::countLocalReady(std::span<const EndpointSlice* const> slices) {
  std::vector<IpAddress> ready;
  for (const auto* s : slices) {
    for (const auto& ep : s->endpoints) {
      if (ep.ready && !ep.nodeName.empty() && ep.nodeName == node_.nodeName) {
        ready.push_back(ep.address);
      }
    }
  }
  sortUnique(ready);
  out_.healthCheck.localReadyEndpoints += static_cast<std::uint32_t>(ready.size());
}

void Translator::reject(std::size_t objects, std::size_t slices, std::size_t endpoints) {
  // Called before anything is expanded, so the result holds no kernel objects.
  out_.ignoredReason = kIgnoredTooManyKernelObjects;
  out_.diagnostics.push_back(
      {svc_.key, kReasonTooManyKernelObjects,
       "Service " + svc_.key.str() + " is not programmed: " + std::to_string(svc_.ports.size()) +
           " ports and " + std::to_string(endpoints) + " endpoints in " + std::to_string(slices) +
           " EndpointSlices make at least " + std::to_string(objects) +
           " virtual servers, real servers and source-range entries, over the bound of " +
           std::to_string(kMaxKernelObjectsPerService) + " per Service"});
}

void Translator::finish() {
  auto& vss = out_.virtualServers;
  std::stable_sort(vss.begin(), vss.end(),
                   [](const auto& a, const auto& b) { return a.server.key < b.server.key; });
  for (std::size_t i = 1; i < vss.size(); ++i) {
    if (vss[i].server.key == vss[i - 1].server.key) {
      const auto& k = vss[i].server.key;
      out_.diagnostics.push_back(
          {svc_.key, kReasonDuplicateVirtualServer,
           "virtual server " + std::string(protocolName(k.protocol)) + " " + k.address.toString() +
               ":" + std::to_string(k.port) +
               " is produced twice by this Service; the first (cluster IP, external IP, "
               "LB IP, node port order) is kept"});
    }
  }
  vss.erase(std::unique(vss.begin(), vss.end(),
                        [](const auto& a, const auto& b) { return a.server.key == b.server.key; }),
            vss.end());
  sortUnique(out_.ipsetEntries);
  sortUnique(out_.bindAddresses);
  std::sort(out_.sourceRangeNodeDrops.begin(), out_.sourceRangeNodeDrops.end());
  // The result lives in the DesiredState for as long as the Service exists: no growth slack.
  vss.shrink_to_fit();
  out_.ipsetEntries.shrink_to_fit();
}

}  // namespace

ServiceDesired translate(const Service& service, std::span<const EndpointSlice* const> slices,
                         const NodeContext& node) {
  ServiceDesired out;
  out.key = service.key;
  out.ignoredReason = ignoredReason(service, node);
  if (!out.ignoredReason.empty()) return out;
  Translator(service, node, out).run(slices);
  return out;
}

}  // namespace ipvs
