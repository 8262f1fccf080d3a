// Scenario S13 and the ownership rules of diff.h: foreign, excluded and other-family objects
// are never touched; stale owned ones are removed.

#include <catch2/catch.hpp>

#include "ipvs/kernel_text.h"
#include "planner_fixtures.h"

using namespace fx;

namespace {

void addVs(KernelState& k, const char* addr, std::uint16_t p, Protocol proto = Protocol::kTcp,
           std::vector<const char*> rs = {}) {
  ObservedVirtualServer vs;
  vs.server.key = vsKey(addr, p, proto);
  vs.server.netmask = vs.server.key.address.isV4() ? 32 : 128;
  for (const char* r : rs) {
    ObservedRealServer o;
    o.server.key = rsKey(r, p);
    vs.realServers.push_back(o);
  }
  k.virtualServers[vs.server.key] = vs;
}

}  // namespace

TEST_CASE("S13: stale owned VSs go - excluded, foreign and other-family ones stay", "[owner]") {
  NodeContext n = node();
  n.excludeCIDRs = {cidr("3.3.3.0/24"), cidr("4.4.4.0/24")};
  Harness h(n);
  auto& k = h.kernel.mutableState();
  for (auto [addr, port] : std::vector<std::pair<const char*, std::uint16_t>>{{"1.1.1.1", 53},
                                                                              {"2.2.2.2", 54},
                                                                              {"3.3.3.3", 55},
                                                                              {"4.4.4.4", 56},
                                                                              {"5.5.5.5", 57},
                                                                              {"6.6.6.6", 58}}) {
    addVs(k, addr, port, Protocol::kTcp, {"10.0.0.1"});
    k.boundAddresses.insert(ip(addr));
  }
  addVs(k, "7.7.7.7", 59);      // foreign: not bound, no marker
  addVs(k, "2001:db8::5", 60);  // other family, bound
  k.boundAddresses.insert(ip("2001:db8::5"));
  k.boundAddresses.insert(ip("2001:db8::6"));
  h.put(service("ns", "a", {"1.1.1.1"}, {port("dns", 53)}));
  h.put(service("ns", "b", {"2.2.2.2"}, {port("x", 54)}));
  const auto plan = h.sync();

  CHECK(keys(h.kernelState()) ==
        std::vector<std::string>{"TCP 1.1.1.1:53", "TCP 2.2.2.2:54", "TCP 3.3.3.3:55",
                                 "TCP 4.4.4.4:56", "TCP 7.7.7.7:59", "TCP [2001:db8::5]:60"});
  CHECK(strings(h.kernelState().boundAddresses) ==
        std::set<std::string>{"1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "2001:db8::5",
                              "2001:db8::6"});
  // The excluded VSs kept their (undesired) real servers.
  CHECK(h.vs(vsKey("3.3.3.3", 55))->realServers.size() == 1);
  // The desired VSs lost theirs: no endpoints.
  CHECK(h.vs(vsKey("1.1.1.1", 53))->realServers.empty());
  std::vector<std::string> kinds;
  for (const auto& op : plan.operations) kinds.emplace_back(operationKind(op));
  CHECK(std::count(kinds.begin(), kinds.end(), "delete_virtual_server") == 2);
  CHECK(std::count(kinds.begin(), kinds.end(), "unbind_address") == 2);
}

TEST_CASE("Ownership markers: ipset members identify the agent's VSs", "[owner]") {
  KernelState k;
  addVs(k, "9.9.9.9", 80);
  CHECK_FALSE(ownedByMarkers(k, vsKey("9.9.9.9", 80)));
  k.ipsetEntries.insert({IpsetId::kExternalIP, Family::kV4, "9.9.9.9,tcp:80"});
  CHECK(ownedByMarkers(k, vsKey("9.9.9.9", 80)));
  CHECK_FALSE(ownedByMarkers(k, vsKey("9.9.9.9", 80, Protocol::kUdp)));
  k.ipsetEntries.insert({IpsetId::kNodePortUdp, Family::kV4, "30053"});
  CHECK(ownedByMarkers(k, vsKey("192.168.1.1", 30053, Protocol::kUdp)));
  CHECK_FALSE(ownedByMarkers(k, vsKey("192.168.1.1", 30053)));
  CHECK_FALSE(ownedByMarkers(k, vsKey("2001:db8::1", 30053, Protocol::kUdp)));
  k.ipsetEntries.insert({IpsetId::kNodePortSctp, Family::kV6, "2001:db8::1,sctp:30054"});
  CHECK(ownedByMarkers(k, vsKey("2001:db8::1", 30054, Protocol::kSctp)));
  k.boundAddresses.insert(ip("10.0.0.1"));
  CHECK(ownedByMarkers(k, vsKey("10.0.0.1", 1, Protocol::kUdp)));
}

TEST_CASE("An externalIP VS on another interface is removed with its Service", "[owner]") {
  NodeContext n = node();
  n.otherLocalAddresses = {ip("192.168.0.10")};
  Harness h(n);
  auto svc = service("ns", "a", {"10.0.0.1"}, {port("p", 80)});
  svc.externalIPs = {ip("192.168.0.10")};
  h.put(svc);
  h.sync();
  CHECK(h.vs(vsKey("192.168.0.10", 80)));
  CHECK(h.kernelState().boundAddresses.count(ip("192.168.0.10")) == 0);
  h.removeService(svc.key);
  h.sync();  // a full diff: only the ipset marker says this VS is ours
  CHECK(h.kernelState().virtualServers.empty());
  CHECK(h.kernelState().ipsetEntries.empty());
}

TEST_CASE("A desired VS inside excludeCIDRs is left alone and reported", "[owner]") {
  NodeContext n = node();
  n.excludeCIDRs = {cidr("10.96.0.0/16")};
  Harness h(n);
  h.kernel.mutableState().virtualServers.clear();
  addVs(h.kernel.mutableState(), "10.96.0.10", 53, Protocol::kTcp, {"10.9.9.9"});
  h.put(service("ns", "dns", {"10.96.0.10"}, {port("dns", 53)}));
  const auto plan = h.sync();
  CHECK(plan.excludedDesired == std::vector<VirtualServerKey>{vsKey("10.96.0.10", 53)});
  CHECK(h.vs(vsKey("10.96.0.10", 53))->realServers.size() == 1);
  // Address and ipset entries are still managed.
  CHECK(h.kernelState().boundAddresses.count(ip("10.96.0.10")) == 1);
}

TEST_CASE("A dual-stack agent handles both families, with KUBE-6- sets", "[owner]") {
  Harness h(node({Family::kV4, Family::kV6}));
  auto svc = service("ns", "ds", {"10.0.0.1", "fd00::1"}, {port("p", 80)});
  h.put(svc);
  h.put(slice(svc, "v4", {epPort("p", 8080)}, {{"10.1.0.1", "N"}}));
  h.put(slice(svc, "v6", {epPort("p", 8080)}, {{"fd01::1", "N"}}, Family::kV6));
  h.sync();
  CHECK(keys(h.kernelState()) == std::vector<std::string>{"TCP 10.0.0.1:80", "TCP [fd00::1]:80"});
  CHECK(realServers(*h.vs(vsKey("fd00::1", 80))) == std::vector<std::string>{"[fd01::1]:8080 w1"});
  CHECK(h.vs(vsKey("fd00::1", 80))->server.netmask == 128);
  CHECK(members(h.kernelState().ipsetEntries, IpsetId::kLoopBack, Family::kV6) ==
        std::set<std::string>{"fd01::1,tcp:8080,fd01::1"});
  CHECK(members(h.kernelState().ipsetEntries, IpsetId::kClusterIP, Family::kV6) ==
        std::set<std::string>{"fd00::1,tcp:80"});
}
