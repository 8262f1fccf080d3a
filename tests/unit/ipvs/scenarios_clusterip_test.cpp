// Acceptance scenarios (docs/kube-proxy-behaviour.md#scenarios) for ClusterIP Services:
// translation, then the plan applied to an in-memory kernel.

#include <catch2/catch.hpp>

#include "planner_fixtures.h"

using namespace fx;

TEST_CASE("S1: ClusterIP basic, IPv4 agent ignores the IPv6 Service", "[scenario]") {
  Harness h;
  auto svc1 = service("ns1", "svc1", {"10.20.30.41"}, {port("p80", 80)});
  auto svc2 = service("ns2", "svc2", {"1002:ab8::2:1"}, {port("p8080", 8080)});
  h.put(svc1);
  h.put(svc2);
  h.put(slice(svc1, "svc1-a", {epPort("p80", 80)}, {{"10.180.0.1"}}));
  const auto& d2 =
      h.put(slice(svc2, "svc2-a", {epPort("p8080", 8080)}, {{"1009:ab8::5:6"}}, Family::kV6));
  CHECK(d2.virtualServers.empty());
  CHECK(d2.ipsetEntries.empty());

  const auto& d1 = *h.desired.service(svc1.key);
  REQUIRE(d1.virtualServers.size() == 1);
  CHECK(d1.virtualServers[0].server.scheduler == "rr");
  CHECK(d1.virtualServers[0].server.flags == 0);
  CHECK(d1.virtualServers[0].server.timeout == 0);
  CHECK(d1.virtualServers[0].server.netmask == 32);

  h.sync();
  const auto& k = h.kernelState();
  CHECK(keys(k) == std::vector<std::string>{"TCP 10.20.30.41:80"});
  CHECK(realServers(*h.vs(vsKey("10.20.30.41", 80))) ==
        std::vector<std::string>{"10.180.0.1:80 w1"});
  CHECK(strings(k.boundAddresses) == std::set<std::string>{"10.20.30.41"});
  CHECK(members(k.ipsetEntries, IpsetId::kClusterIP) ==
        std::set<std::string>{"10.20.30.41,tcp:80"});
  CHECK(members(k.ipsetEntries, IpsetId::kIpvsIps) == std::set<std::string>{"10.20.30.41"});
  CHECK(members(k.ipsetEntries, IpsetId::kLoopBack).empty());
  CHECK(k.ipsetEntries.size() == 2);
  CHECK(h.sync().operations.empty());
}

TEST_CASE("S2: ClusterIP without endpoints keeps a VS with zero real servers", "[scenario]") {
  Harness h;
  h.put(service("ns1", "svc1", {"10.20.30.41"}, {port("p80", 80)}));
  h.sync();
  const auto* vs = h.vs(vsKey("10.20.30.41", 80));
  REQUIRE(vs);
  CHECK(vs->realServers.empty());
}

TEST_CASE("S9: ClientIP affinity makes every VS persistent, updated in place", "[scenario]") {
  NodeContext n = node();
  n.nodePortAddresses = {ip("100.101.102.103")};
  Harness h(n);
  auto svc = service("ns1", "svc1", {"10.20.30.41"}, {port("p80", 80, Protocol::kTcp, 3001)});
  svc.type = ServiceType::kNodePort;
  svc.externalIPs = {ip("50.60.70.81")};
  svc.sessionAffinityClientIP = true;
  svc.sessionAffinityTimeoutSeconds = 10800;
  h.put(svc);
  h.put(slice(svc, "s", {epPort("p80", 80)}, {{"10.180.0.1"}}));
  h.sync();
  REQUIRE(h.kernelState().virtualServers.size() == 3);
  for (const auto& [key, vs] : h.kernelState().virtualServers) {
    INFO(key.address.toString());
    CHECK((vs.server.flags & kFlagPersistent) != 0);
    CHECK(vs.server.timeout == 10800);
  }
  svc.sessionAffinityClientIP = false;
  h.put(svc);
  const auto plan = h.syncChanged();
  REQUIRE(plan.operations.size() == 3);
  for (const auto& op : plan.operations) CHECK(std::holds_alternative<EditVirtualServer>(op));
  for (const auto& [key, vs] : h.kernelState().virtualServers) {
    CHECK(vs.server.flags == 0);
    CHECK(vs.server.timeout == 0);
    CHECK(vs.realServers.size() == 1);  // the edit kept the real servers
  }
}

TEST_CASE("S14: multi-port Service keeps exactly one bound address", "[scenario]") {
  Harness h;
  auto svc = service("ns1", "svc1", {"172.16.55.4"}, {port("p1", 1234), port("p2", 1235)});
  h.put(svc);
  h.sync();
  CHECK(strings(h.kernelState().boundAddresses) == std::set<std::string>{"172.16.55.4"});
  CHECK(h.kernelState().virtualServers.size() == 2);

  svc.ports = {port("p1", 1234)};
  h.put(svc);
  h.syncChanged();
  CHECK(strings(h.kernelState().boundAddresses) == std::set<std::string>{"172.16.55.4"});
  CHECK(keys(h.kernelState()) == std::vector<std::string>{"TCP 172.16.55.4:1234"});

  svc.ports = {port("p1", 1234), port("p2", 1235), port("p3", 1236, Protocol::kUdp)};
  h.put(svc);
  h.syncChanged();
  CHECK(strings(h.kernelState().boundAddresses) == std::set<std::string>{"172.16.55.4"});
  CHECK(h.kernelState().virtualServers.size() == 3);
  CHECK(members(h.kernelState().ipsetEntries, IpsetId::kClusterIP) ==
        std::set<std::string>{"172.16.55.4,tcp:1234", "172.16.55.4,tcp:1235",
                              "172.16.55.4,udp:1236"});

  h.removeService(svc.key);
  h.syncChanged();
  CHECK(h.kernelState().boundAddresses.empty());
  CHECK(h.kernelState().virtualServers.empty());
  CHECK(h.kernelState().ipsetEntries.empty());
}

TEST_CASE("S15: internalTrafficPolicy", "[scenario]") {
  Harness h;
  auto svc = service("ns1", "svc1", {"172.20.1.1"}, {port("p80", 80)});
  h.put(svc);
  h.put(slice(svc, "s", {epPort("p80", 80)},
              {{"10.0.1.1", "N"}, {"10.0.1.2", "other"}, {"10.0.1.3", "other"}}));
  h.sync();
  const auto key = vsKey("172.20.1.1", 80);
  CHECK(h.vs(key)->realServers.size() == 3);

  svc.internalTrafficPolicy = TrafficPolicy::kLocal;
  const auto& local = h.put(svc);
  CHECK_FALSE(local.noLocalEndpointsInternal);
  h.syncChanged();
  CHECK(realServers(*h.vs(key)) == std::vector<std::string>{"10.0.1.1:80 w1"});

  const auto& none =
      h.put(slice(svc, "s", {epPort("p80", 80)}, {{"10.0.1.2", "other"}, {"10.0.1.3", "other"}}));
  CHECK(none.noLocalEndpointsInternal);
  CHECK_FALSE(none.noLocalEndpointsExternal);
  h.syncChanged();
  REQUIRE(h.vs(key));
  CHECK(h.vs(key)->realServers.empty());
}

TEST_CASE("S17: headless, ExternalName and foreign proxy-name Services are ignored", "[scenario]") {
  Harness h;
  auto headless = service("ns", "headless", {}, {port("p", 80)});
  headless.headless = true;
  auto extName = service("ns", "ext", {}, {port("p", 80)});
  extName.type = ServiceType::kExternalName;
  auto other = service("ns", "other", {"10.0.0.9"}, {port("p", 80)});
  setPair(other.labels, std::string(kLabelServiceProxyName), "someone-else");
  CHECK(h.put(headless).ignoredReason == "headless");
  CHECK(h.put(extName).ignoredReason == "external_name");
  CHECK(h.put(other).ignoredReason == "service_proxy_name");
  h.sync();
  CHECK(h.kernelState().virtualServers.empty());
  CHECK(h.kernelState().ipsetEntries.empty());

  // With serviceProxyName set, only Services carrying that value are handled.
  NodeContext n = node();
  n.serviceProxyName = "someone-else";
  Harness mine(n);
  CHECK(mine.put(other).ignoredReason.empty());
  CHECK(mine.put(service("ns", "plain", {"10.0.0.8"}, {port("p", 80)})).ignoredReason ==
        "service_proxy_name");
  mine.sync();
  CHECK(keys(mine.kernelState()) == std::vector<std::string>{"TCP 10.0.0.9:80"});
}
