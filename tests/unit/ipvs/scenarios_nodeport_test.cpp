// Acceptance scenarios (docs/kube-proxy-behaviour.md#scenarios) for NodePort Services (S3-S6).

#include <catch2/catch.hpp>

#include "planner_fixtures.h"

using namespace fx;

namespace {

Service nodePortService(Protocol proto) {
  auto svc = service("ns1", "svc1", {"10.20.30.41"}, {port("p80", 80, proto, 3001)});
  svc.type = ServiceType::kNodePort;
  return svc;
}

}  // namespace

TEST_CASE("S3: NodePort TCP uses the node IPs of the agent's family", "[scenario]") {
  auto sel = selectNodePortAddresses(
      std::vector<IpAddress>{ip("100.101.102.103"), ip("2001:db8::1:1"), ip("127.0.0.1")}, {}, {});
  NodeContext n = node();
  n.nodePortAddresses = sel.addresses;
  Harness h(n);
  auto svc = nodePortService(Protocol::kTcp);
  h.put(svc);
  h.put(slice(svc, "v4", {epPort("p80", 80)}, {{"10.180.0.1"}}));
  h.put(slice(svc, "v6", {epPort("p80", 80)}, {{"1002:ab8::2:10"}}, Family::kV6));
  h.sync();
  const auto& k = h.kernelState();
  CHECK(keys(k) == std::vector<std::string>{"TCP 10.20.30.41:80", "TCP 100.101.102.103:3001"});
  for (const auto& [key, vs] : k.virtualServers) {
    CHECK(realServers(vs) == std::vector<std::string>{"10.180.0.1:80 w1"});
  }
  CHECK(strings(k.boundAddresses) == std::set<std::string>{"10.20.30.41"});
  CHECK(members(k.ipsetEntries, IpsetId::kNodePortTcp) == std::set<std::string>{"3001"});
  CHECK(members(k.ipsetEntries, IpsetId::kNodePortTcp, Family::kV6).empty());
}

TEST_CASE("S4: NodePort UDP with nodePortAddresses 0.0.0.0/0", "[scenario]") {
  const std::vector<std::string> spec{"0.0.0.0/0"};
  auto sel = selectNodePortAddresses(
      std::vector<IpAddress>{ip("100.101.102.103"), ip("127.0.0.1"), ip("2001:db8::1")}, spec, {});
  CHECK(strings(sel.addresses) == std::set<std::string>{"100.101.102.103"});
  NodeContext n = node();
  n.nodePortAddresses = sel.addresses;
  Harness h(n);
  auto svc = nodePortService(Protocol::kUdp);
  h.put(svc);
  h.put(slice(svc, "v4", {epPort("p80", 80, Protocol::kUdp)}, {{"10.180.0.1"}}));
  h.sync();
  const auto& k = h.kernelState();
  CHECK(keys(k) == std::vector<std::string>{"UDP 10.20.30.41:80", "UDP 100.101.102.103:3001"});
  CHECK(realServers(*h.vs(vsKey("100.101.102.103", 3001, Protocol::kUdp))) ==
        std::vector<std::string>{"10.180.0.1:80 w1"});
  CHECK(members(k.ipsetEntries, IpsetId::kNodePortUdp) == std::set<std::string>{"3001"});
  CHECK(members(k.ipsetEntries, IpsetId::kNodePortTcp).empty());
}

TEST_CASE("S5: NodePort SCTP, one hash entry per node IP", "[scenario]") {
  NodeContext n = node();
  n.nodePortAddresses = {ip("100.101.102.103"), ip("100.101.102.104"), ip("100.101.102.105"),
                         ip("2001:db8::1:1"),   ip("2001:db8::1:2"),   ip("2001:db8::1:3")};
  Harness h(n);
  auto svc = nodePortService(Protocol::kSctp);
  h.put(svc);
  h.put(slice(svc, "v4", {epPort("p80", 80, Protocol::kSctp)}, {{"10.180.0.1"}}));
  h.sync();
  const auto& k = h.kernelState();
  CHECK(keys(k) == std::vector<std::string>{"SCTP 10.20.30.41:80", "SCTP 100.101.102.103:3001",
                                            "SCTP 100.101.102.104:3001",
                                            "SCTP 100.101.102.105:3001"});
  for (const auto& [key, vs] : k.virtualServers) {
    CHECK(realServers(vs) == std::vector<std::string>{"10.180.0.1:80 w1"});
  }
  CHECK(members(k.ipsetEntries, IpsetId::kNodePortSctp) ==
        std::set<std::string>{"100.101.102.103,sctp:3001", "100.101.102.104,sctp:3001",
                              "100.101.102.105,sctp:3001"});
}

TEST_CASE("S6: NodePort with externalTrafficPolicy=Local", "[scenario]") {
  const std::vector<std::string> spec{"100.101.102.0/24"};
  NodeContext n = node();
  n.nodePortAddresses = selectNodePortAddresses(
                            std::vector<IpAddress>{ip("100.101.102.103"), ip("10.9.9.9")}, spec, {})
                            .addresses;
  Harness h(n);
  auto svc = nodePortService(Protocol::kTcp);
  svc.externalTrafficPolicy = TrafficPolicy::kLocal;
  h.put(svc);
  const auto& d =
      h.put(slice(svc, "s", {epPort("p80", 80)}, {{"10.180.0.1", "N"}, {"10.180.1.1", "other"}}));
  CHECK_FALSE(d.noLocalEndpointsExternal);
  h.sync();
  const auto& k = h.kernelState();
  CHECK(realServers(*h.vs(vsKey("10.20.30.41", 80))) ==
        std::vector<std::string>{"10.180.0.1:80 w1", "10.180.1.1:80 w1"});
  CHECK(realServers(*h.vs(vsKey("100.101.102.103", 3001))) ==
        std::vector<std::string>{"10.180.0.1:80 w1"});
  CHECK(members(k.ipsetEntries, IpsetId::kNodePortTcp) == std::set<std::string>{"3001"});
  CHECK(members(k.ipsetEntries, IpsetId::kNodePortLocalTcp) == std::set<std::string>{"3001"});
  CHECK(members(k.ipsetEntries, IpsetId::kLoopBack) ==
        std::set<std::string>{"10.180.0.1,tcp:80,10.180.0.1"});

  SECTION("no local endpoint: IPVS falls back to the cluster endpoints") {
    const auto& none = h.put(slice(svc, "s", {epPort("p80", 80)}, {{"10.180.1.1", "other"}}));
    CHECK(none.noLocalEndpointsExternal);
    CHECK_FALSE(none.noLocalEndpointsInternal);
    h.syncChanged();
    CHECK(realServers(*h.vs(vsKey("100.101.102.103", 3001))) ==
          std::vector<std::string>{"10.180.1.1:80 w1"});
    CHECK(members(h.kernelState().ipsetEntries, IpsetId::kLoopBack).empty());
  }
}
