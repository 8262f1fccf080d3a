// Acceptance scenarios (docs/kube-proxy-behaviour.md#scenarios) for LoadBalancer, externalIPs and
// health-check node ports (S7, S8, S10, S16).

#include <catch2/catch.hpp>

#include "planner_fixtures.h"

using namespace fx;

namespace {

Service lbService(const char* name, const char* clusterIP, const char* lbIP) {
  auto svc = service("ns1", name, {clusterIP}, {port("p80", 80, Protocol::kTcp, 3001)});
  svc.type = ServiceType::kLoadBalancer;
  svc.loadBalancerIPs = {ip(lbIP)};
  return svc;
}

}  // namespace

TEST_CASE("S7: LoadBalancer with eTP=Local and no node IPs", "[scenario]") {
  Harness h;
  auto svc = lbService("svc1", "10.20.30.41", "1.2.3.4");
  svc.externalTrafficPolicy = TrafficPolicy::kLocal;
  h.put(svc);
  h.put(slice(svc, "s", {epPort("p80", 80)}, {{"10.180.0.1", "N"}, {"10.180.1.1", "other"}}));
  h.sync();
  const auto& k = h.kernelState();
  CHECK(keys(k) == std::vector<std::string>{"TCP 1.2.3.4:80", "TCP 10.20.30.41:80"});
  CHECK(realServers(*h.vs(vsKey("1.2.3.4", 80))) == std::vector<std::string>{"10.180.0.1:80 w1"});
  CHECK(realServers(*h.vs(vsKey("10.20.30.41", 80))).size() == 2);
  CHECK(strings(k.boundAddresses) == std::set<std::string>{"1.2.3.4", "10.20.30.41"});
  CHECK(members(k.ipsetEntries, IpsetId::kLoadBalancer) == std::set<std::string>{"1.2.3.4,tcp:80"});
  CHECK(members(k.ipsetEntries, IpsetId::kLoadBalancerLocal) ==
        std::set<std::string>{"1.2.3.4,tcp:80"});
  CHECK(members(k.ipsetEntries, IpsetId::kLoadBalancerFW).empty());
}

TEST_CASE("S8: loadBalancerSourceRanges fill the firewall sets", "[scenario]") {
  NodeContext n = node();
  n.nodeIPs = {ip("192.168.0.10")};
  Harness h(n);
  auto svc = lbService("svc1", "10.20.30.41", "1.2.3.4");
  svc.loadBalancerSourceRanges = {cidr("10.0.0.0/8"), cidr("2001:db8::/32")};
  h.put(svc);
  const auto& d = h.put(slice(svc, "s", {epPort("p80", 80)}, {{"10.180.0.1"}}));
  CHECK(d.sourceRangeNodeDrops == std::vector<VirtualServerKey>{vsKey("1.2.3.4", 80)});
  h.sync();
  const auto& k = h.kernelState();
  CHECK(realServers(*h.vs(vsKey("1.2.3.4", 80))) == std::vector<std::string>{"10.180.0.1:80 w1"});
  CHECK(members(k.ipsetEntries, IpsetId::kLoadBalancer) == std::set<std::string>{"1.2.3.4,tcp:80"});
  CHECK(members(k.ipsetEntries, IpsetId::kLoadBalancerFW) ==
        std::set<std::string>{"1.2.3.4,tcp:80"});
  CHECK(members(k.ipsetEntries, IpsetId::kLoadBalancerSourceCIDR) ==
        std::set<std::string>{"1.2.3.4,tcp:80,10.0.0.0/8"});
  CHECK(members(k.ipsetEntries, IpsetId::kLoadBalancerSourceIP).empty());

  SECTION("node IP inside a range: SOURCE-IP entry instead of a node drop") {
    h.nodeContext().nodeIPs = {ip("10.1.2.3")};
    const auto& inside = h.put(svc);
    CHECK(inside.sourceRangeNodeDrops.empty());
    h.syncChanged();
    CHECK(members(h.kernelState().ipsetEntries, IpsetId::kLoadBalancerSourceIP) ==
          std::set<std::string>{"1.2.3.4,tcp:80,1.2.3.4"});
  }
  SECTION("host and /0 ranges are written the way ipset prints them") {
    svc.loadBalancerSourceRanges = {cidr("203.0.113.7/32"), cidr("0.0.0.0/0")};
    h.put(svc);
    h.syncChanged();
    CHECK(members(h.kernelState().ipsetEntries, IpsetId::kLoadBalancerSourceCIDR) ==
          std::set<std::string>{"1.2.3.4,tcp:80,0.0.0.0/1", "1.2.3.4,tcp:80,128.0.0.0/1",
                                "1.2.3.4,tcp:80,203.0.113.7"});
  }
}

TEST_CASE("S10: externalIPs, with and without eTP=Local", "[scenario]") {
  NodeContext n = node();
  n.otherLocalAddresses = {ip("127.0.0.1"), ip("192.168.0.10")};
  Harness h(n);
  auto svc = service("ns1", "svc1", {"10.20.30.41"}, {port("p80", 80)});
  svc.externalIPs = {ip("50.60.70.81"), ip("2012::51"), ip("127.0.0.1")};
  h.put(svc);
  h.put(slice(svc, "s", {epPort("p80", 80)}, {{"10.180.0.1", "N"}, {"10.180.1.1", "other"}}));
  h.sync();
  const auto& k = h.kernelState();
  CHECK(keys(k) ==
        std::vector<std::string>{"TCP 10.20.30.41:80", "TCP 50.60.70.81:80", "TCP 127.0.0.1:80"});
  for (const auto& [key, vs] : k.virtualServers) CHECK(vs.realServers.size() == 2);
  CHECK(members(k.ipsetEntries, IpsetId::kExternalIP) ==
        std::set<std::string>{"50.60.70.81,tcp:80", "127.0.0.1,tcp:80"});
  // 127.0.0.1 already exists on lo: served, but not bound on kube-ipvs0.
  CHECK(strings(k.boundAddresses) == std::set<std::string>{"10.20.30.41", "50.60.70.81"});
  CHECK(members(k.ipsetEntries, IpsetId::kIpvsIps) ==
        std::set<std::string>{"10.20.30.41", "50.60.70.81"});

  svc.externalTrafficPolicy = TrafficPolicy::kLocal;
  h.put(svc);
  h.syncChanged();
  CHECK(realServers(*h.vs(vsKey("50.60.70.81", 80))) ==
        std::vector<std::string>{"10.180.0.1:80 w1"});
  CHECK(realServers(*h.vs(vsKey("10.20.30.41", 80))).size() == 2);
  CHECK(members(k.ipsetEntries, IpsetId::kExternalIP).empty());
  CHECK(members(k.ipsetEntries, IpsetId::kExternalIPLocal) ==
        std::set<std::string>{"50.60.70.81,tcp:80", "127.0.0.1,tcp:80"});
  CHECK(h.sync().operations.empty());
}

TEST_CASE("S16: health-check node ports only for LoadBalancer + eTP=Local", "[scenario]") {
  Harness h;
  auto a = lbService("a", "10.0.0.1", "1.1.1.1");
  a.externalTrafficPolicy = TrafficPolicy::kLocal;
  a.healthCheckNodePort = 30000;
  auto b = lbService("b", "10.0.0.2", "1.1.1.2");
  b.externalTrafficPolicy = TrafficPolicy::kLocal;
  b.healthCheckNodePort = 30001;
  auto c = lbService("c", "10.0.0.3", "1.1.1.3");
  c.healthCheckNodePort = 30002;  // stale: eTP=Cluster
  h.put(a);
  h.put(b);
  CHECK(h.put(c).healthCheck.nodePort == 0);
  const auto& da = h.put(
      slice(a, "a", {epPort("p80", 80)},
            {{"10.1.0.1", "N"}, {"10.1.0.2", "N", false, true, true}, {"10.1.0.3", "other"}}));
  CHECK(da.healthCheck.nodePort == 30000);
  CHECK(da.healthCheck.localReadyEndpoints == 1);
  h.sync();
  CHECK(members(h.kernelState().ipsetEntries, IpsetId::kHealthCheckNodePort) ==
        std::set<std::string>{"30000", "30001"});

  b.healthCheckNodePort = 30003;
  h.put(b);
  h.syncChanged();
  CHECK(members(h.kernelState().ipsetEntries, IpsetId::kHealthCheckNodePort) ==
        std::set<std::string>{"30000", "30003"});

  // Only terminating local endpoints left: the health check reports none.
  const auto& term =
      h.put(slice(a, "a", {epPort("p80", 80)}, {{"10.1.0.2", "N", false, true, true}}));
  CHECK(term.healthCheck.localReadyEndpoints == 0);

  h.removeService(a.key);
  h.removeService(b.key);
  h.syncChanged();
  CHECK(members(h.kernelState().ipsetEntries, IpsetId::kHealthCheckNodePort).empty());
}
