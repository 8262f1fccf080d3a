// Upstream kube-proxy's IPv6 IPVS proxier tests (pkg/proxy/ipvs/proxier_test.go), translated
// case by case: the same Services, EndpointSlices, node IPs and nodePortAddresses, and the same
// expected virtual servers, real servers and ipset entries, on an agent that handles IPv6 only
// (upstream's NewFakeProxier(..., v1.IPv6Protocol)). Upstream's FakeIPVS has no bound addresses;
// the ClusterIP ones are checked too because the agent binds them on kube-ipvs0.

#include <catch2/catch.hpp>

#include "planner_fixtures.h"

using namespace fx;

namespace {

Harness ipv6Harness(std::vector<IpAddress> nodeIPs, std::vector<std::string> spec) {
  NodeContext n = node({Family::kV6});
  n.nodePortAddresses = selectNodePortAddresses(nodeIPs, spec, {}).addresses;
  return Harness(n);
}

Service nodePortService(const char* clusterIP, Protocol proto) {
  auto svc = service("ns1", "svc1", {clusterIP}, {port("p80", 80, proto, 3001)});
  svc.type = ServiceType::kNodePort;
  return svc;
}

}  // namespace

// Upstream TestNodePortIPv6, "1 service with node port, has 2 endpoints".
TEST_CASE("TestNodePortIPv6: NodePort with an IPv4 and an IPv6 slice serves the IPv6 one",
          "[scenario][ipv6]") {
  Harness h = ipv6Harness({ip("100.101.102.103"), ip("2001:db8::1:1")}, {});
  auto svc = nodePortService("2020::1", Protocol::kTcp);
  h.put(svc);
  h.put(slice(svc, "svc1-1", {epPort("p80", 80)}, {{"10.180.0.1"}}));
  h.put(slice(svc, "svc1-2", {epPort("p80", 80)}, {{"1002:ab8::2:10"}}, Family::kV6));
  h.sync();
  const auto& k = h.kernelState();
  CHECK(keys(k) == std::vector<std::string>{"TCP [2001:db8::1:1]:3001", "TCP [2020::1]:80"});
  for (const auto& [key, vs] : k.virtualServers) {
    INFO(key.address.toString());
    CHECK(vs.server.scheduler == "rr");
    CHECK(realServers(vs) == std::vector<std::string>{"[1002:ab8::2:10]:80 w1"});
  }
  CHECK(strings(k.boundAddresses) == std::set<std::string>{"2020::1"});
  CHECK(members(k.ipsetEntries, IpsetId::kNodePortTcp, Family::kV6) ==
        std::set<std::string>{"3001"});
  CHECK(members(k.ipsetEntries, IpsetId::kNodePortTcp, Family::kV4).empty());
  CHECK(h.sync().operations.empty());
}

// Upstream TestNodePortIPv6, "1 UDP service with node port, has endpoints (no action on IPv6
// Proxier)": an IPv4 ClusterIP (and an IPv4 address in a slice typed IPv6) on an IPv6 agent.
TEST_CASE("TestNodePortIPv6: an IPv4 UDP NodePort Service gets nothing from an IPv6 agent",
          "[scenario][ipv6]") {
  Harness h = ipv6Harness({ip("100.101.102.103")}, {"0.0.0.0/0"});
  CHECK(h.nodeContext().nodePortAddresses.size() == 1);
  auto svc = nodePortService("10.20.30.41", Protocol::kUdp);
  h.put(svc);
  const auto& d = h.put(
      slice(svc, "svc1-1", {epPort("p80", 80, Protocol::kUdp)}, {{"10.180.0.1"}}, Family::kV6));
  CHECK(d.virtualServers.empty());
  h.sync();
  const auto& k = h.kernelState();
  CHECK(k.virtualServers.empty());
  CHECK(k.boundAddresses.empty());
  CHECK(k.ipsetEntries.empty());
}

// Upstream TestNodePortIPv6, "service has node port but no endpoints".
TEST_CASE("TestNodePortIPv6: NodePort without endpoints keeps both VSs with no real servers",
          "[scenario][ipv6]") {
  Harness h = ipv6Harness({ip("100.101.102.103"), ip("2001:db8::1:1")}, {});
  h.put(nodePortService("2020::1", Protocol::kTcp));
  h.sync();
  const auto& k = h.kernelState();
  CHECK(keys(k) == std::vector<std::string>{"TCP [2001:db8::1:1]:3001", "TCP [2020::1]:80"});
  for (const auto& [key, vs] : k.virtualServers) {
    INFO(key.address.toString());
    CHECK(vs.server.scheduler == "rr");
    CHECK(vs.realServers.empty());
  }
}

// Upstream TestNodePortIPv6, "node port service with protocol sctp on a node with multiple
// nodeIPs": one VS and one KUBE-6-NODE-PORT-SCTP-HASH entry per node IP.
TEST_CASE("TestNodePortIPv6: SCTP NodePort on two IPv6 node IPs", "[scenario][ipv6]") {
  Harness h = ipv6Harness({ip("2001:db8::1:1"), ip("2001:db8::1:2")}, {});
  auto svc = nodePortService("2020::1", Protocol::kSctp);
  h.put(svc);
  h.put(slice(svc, "svc1-1", {epPort("p80", 80, Protocol::kSctp)}, {{"2001::1"}}, Family::kV6));
  h.sync();
  const auto& k = h.kernelState();
  CHECK(keys(k) == std::vector<std::string>{"SCTP [2001:db8::1:1]:3001",
                                            "SCTP [2001:db8::1:2]:3001", "SCTP [2020::1]:80"});
  for (const auto& [key, vs] : k.virtualServers) {
    INFO(key.address.toString());
    CHECK(vs.server.scheduler == "rr");
    CHECK(realServers(vs) == std::vector<std::string>{"[2001::1]:80 w1"});
  }
  CHECK(members(k.ipsetEntries, IpsetId::kNodePortSctp, Family::kV6) ==
        std::set<std::string>{"2001:db8::1:1,sctp:3001", "2001:db8::1:2,sctp:3001"});
  CHECK(members(k.ipsetEntries, IpsetId::kNodePortSctp, Family::kV4).empty());
}

// Upstream TestIPv6Proxier, "2 services with Cluster IP, each with endpoints": the IPv4 Service
// is left alone, the IPv6 one is served.
TEST_CASE("TestIPv6Proxier: IPv6 agent serves the IPv6 ClusterIP and ignores the IPv4 one",
          "[scenario][ipv6]") {
  Harness h(node({Family::kV6}));
  auto svc1 = service("ns1", "svc1", {"10.20.30.41"}, {port("p80", 80)});
  auto svc2 = service("ns2", "svc2", {"1002:ab8::2:1"}, {port("p8080", 8080)});
  h.put(svc1);
  h.put(svc2);
  const auto& d1 = h.put(slice(svc1, "svc1-1", {epPort("p80", 80)}, {{"10.180.0.1"}}));
  CHECK(d1.virtualServers.empty());
  CHECK(d1.ipsetEntries.empty());
  h.put(slice(svc2, "svc2-1", {epPort("p8080", 8080)}, {{"1009:ab8::5:6"}}, Family::kV6));
  h.sync();
  const auto& k = h.kernelState();
  CHECK(keys(k) == std::vector<std::string>{"TCP [1002:ab8::2:1]:8080"});
  const auto* vs = h.vs(vsKey("1002:ab8::2:1", 8080));
  REQUIRE(vs);
  CHECK(vs->server.scheduler == "rr");
  CHECK(vs->server.netmask == 128);
  CHECK(realServers(*vs) == std::vector<std::string>{"[1009:ab8::5:6]:8080 w1"});
  CHECK(strings(k.boundAddresses) == std::set<std::string>{"1002:ab8::2:1"});
  CHECK(members(k.ipsetEntries, IpsetId::kClusterIP, Family::kV6) ==
        std::set<std::string>{"1002:ab8::2:1,tcp:8080"});
  CHECK(members(k.ipsetEntries, IpsetId::kClusterIP, Family::kV4).empty());
}

// Upstream TestIPv6Proxier, "cluster IP service with no endpoints".
TEST_CASE("TestIPv6Proxier: IPv6 ClusterIP without endpoints keeps a VS with no real servers",
          "[scenario][ipv6]") {
  Harness h(node({Family::kV6}));
  h.put(service("ns1", "svc1", {"2001::1"}, {port("p80", 80)}));
  h.sync();
  CHECK(keys(h.kernelState()) == std::vector<std::string>{"TCP [2001::1]:80"});
  const auto* vs = h.vs(vsKey("2001::1", 80));
  REQUIRE(vs);
  CHECK(vs->server.scheduler == "rr");
  CHECK(vs->realServers.empty());
}
