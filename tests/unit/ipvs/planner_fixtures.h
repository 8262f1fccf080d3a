#pragma once
// Builders and a small harness for the planner tests: a node, Services and EndpointSlices in
// the shape of the upstream test cases, and a loop that translates, diffs and applies the plan
// to a MemoryDataplane, so tests assert on the resulting kernel state.

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ipvs/desired_state.h"
#include "ipvs/diff.h"
#include "ipvs/memory_dataplane.h"
#include "ipvs/translate.h"

namespace fx {

using namespace ipvs;

inline IpAddress ip(const char* s) {
  auto a = IpAddress::parse(s);
  REQUIRE(a);
  return *a;
}

inline Cidr cidr(const char* s) {
  auto c = Cidr::parse(s);
  REQUIRE(c);
  return *c;
}

inline ServicePort port(const char* name, std::uint16_t p, Protocol proto = Protocol::kTcp,
                        std::uint16_t nodePort = 0) {
  ServicePort sp;
  sp.name = name;
  sp.port = p;
  sp.protocol = proto;
  sp.nodePort = nodePort;
  return sp;
}

inline Service service(const char* ns, const char* name, std::vector<const char*> clusterIPs,
                       std::vector<ServicePort> ports) {
  Service s;
  s.key = {ns, name};
  for (const char* c : clusterIPs) s.clusterIPs.push_back(ip(c));
  s.ports = std::move(ports);
  return s;
}

inline void setPair(StringPairs& pairs, std::string k, std::string v) {
  pairs.emplace_back(std::move(k), std::move(v));
  std::sort(pairs.begin(), pairs.end());
}

struct Ep {
  const char* address;
  const char* node = "";
  bool ready = true;
  bool serving = true;
  bool terminating = false;
};

inline Endpoint endpoint(const Ep& e) {
  Endpoint out;
  out.address = ip(e.address);
  out.nodeName = e.node;
  out.ready = e.ready;
  out.serving = e.serving;
  out.terminating = e.terminating;
  return out;
}

inline EndpointSlice slice(const Service& svc, const char* sliceName,
                           std::vector<EndpointPort> ports, std::vector<Ep> eps,
                           Family family = Family::kV4) {
  EndpointSlice s;
  s.key = {svc.key.ns, sliceName};
  s.serviceName = svc.key.name;
  s.addressType = family;
  s.ports = std::move(ports);
  for (const auto& e : eps) s.endpoints.push_back(endpoint(e));
  return s;
}

inline EndpointPort epPort(const char* name, std::uint16_t p, Protocol proto = Protocol::kTcp) {
  return {name, proto, p};
}

inline NodeContext node(std::vector<Family> families = {Family::kV4}) {
  NodeContext n;
  n.nodeName = "N";
  n.families = std::move(families);
  return n;
}

inline VirtualServerKey vsKey(const char* addr, std::uint16_t p, Protocol proto = Protocol::kTcp) {
  return {ip(addr), proto, p, 0};
}

inline RealServerKey rsKey(const char* addr, std::uint16_t p) { return {ip(addr), p}; }

// "10.180.0.1:80 w1" for each real server, in key order.
std::vector<std::string> realServers(const std::vector<RealServer>& rs);
std::vector<std::string> realServers(const ObservedVirtualServer& vs);
// The members of one ipset in a kernel state or a translation.
std::set<std::string> members(const std::set<IpsetEntry>& entries, IpsetId set,
                              Family family = Family::kV4);
std::set<std::string> members(const std::vector<IpsetEntry>& entries, IpsetId set,
                              Family family = Family::kV4);
std::set<std::string> strings(const std::set<IpAddress>& addresses);
std::set<std::string> strings(const std::vector<IpAddress>& addresses);
std::vector<std::string> keys(const KernelState& state);  // "TCP 10.0.0.1:80", sorted
const DesiredVirtualServer* find(const ServiceDesired& d, const VirtualServerKey& key);

// Translate -> DesiredState -> diff -> MemoryDataplane, as the agent does it.
class Harness {
 public:
  explicit Harness(NodeContext n = node()) : node_(std::move(n)) {
    options.families = node_.families;
    options.excludeCIDRs = node_.excludeCIDRs;
  }

  NodeContext& nodeContext() { return node_; }
  // Adds or replaces a Service / slice and retranslates the Service.
  const ServiceDesired& put(const Service& svc);
  const ServiceDesired& put(const EndpointSlice& slice);
  void removeService(const ObjectKey& key);
  void removeSlice(const ObjectKey& sliceKey);

  // diff + apply; requires every operation to succeed without idempotent outcomes.
  Plan sync();
  // Incremental: diffKeys over the keys changed since the last sync.
  Plan syncChanged();

  const KernelState& kernelState() const { return kernel.state(); }
  const ObservedVirtualServer* vs(const VirtualServerKey& key) const;

  DiffOptions options;
  DesiredState desired;
  MemoryDataplane kernel;

 private:
  const ServiceDesired& retranslate(const ObjectKey& svcKey);
  Plan applyPlan(Plan plan);

  NodeContext node_;
  std::map<ObjectKey, Service> services_;
  std::map<ObjectKey, EndpointSlice> slices_;
  ChangedKeys pending_;
};

}  // namespace fx
