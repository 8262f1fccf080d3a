// Translation of odd or invalid input: diagnostics and sane output, never a crash.

#include <catch2/catch.hpp>

#include "planner_fixtures.h"

using namespace fx;

TEST_CASE("A VS produced twice by one Service is kept once, with a diagnostic", "[translate]") {
  auto svc = service("ns", "dup", {"10.0.0.1"}, {port("a", 80), port("b", 80)});
  svc.externalIPs = {ip("10.0.0.1"), ip("50.0.0.1")};
  svc.loadBalancerIPs = {ip("50.0.0.1")};
  const auto d = translate(svc, {}, node());
  CHECK(d.virtualServers.size() == 2);  // 10.0.0.1:80 and 50.0.0.1:80
  REQUIRE_FALSE(d.diagnostics.empty());
  for (const auto& diag : d.diagnostics) {
    CHECK(diag.object == ObjectKey{"ns", "dup"});
    CHECK(diag.reason == "duplicate_virtual_server");
  }
  CHECK(std::is_sorted(d.ipsetEntries.begin(), d.ipsetEntries.end()));
  CHECK(std::adjacent_find(d.ipsetEntries.begin(), d.ipsetEntries.end()) == d.ipsetEntries.end());
}

TEST_CASE("A Service without a clusterIP of a handled family produces nothing", "[translate]") {
  auto v6only = service("ns", "v6", {"fd00::1"}, {port("p", 80)});
  v6only.externalIPs = {ip("50.0.0.1")};  // an IPv4 external IP alone does not make it IPv4
  const auto d = translate(v6only, {}, node());
  CHECK(d.ignoredReason.empty());
  CHECK(d.virtualServers.empty());
  CHECK(d.ipsetEntries.empty());
  CHECK(d.bindAddresses.empty());
  CHECK(translate(service("ns", "none", {}, {port("p", 80)}), {}, node()).virtualServers.empty());
}

TEST_CASE("Slices of other Services and endpoints of the wrong family are ignored", "[translate]") {
  auto svc = service("ns", "web", {"10.0.0.1"}, {port("p", 80)});
  auto mine = slice(svc, "web-1", {epPort("p", 8080)}, {{"10.1.0.1"}, {"fd01::1"}});
  auto otherNs = mine;
  otherNs.key.ns = "other";
  auto wrongFamily = slice(svc, "web-6", {epPort("p", 8080)}, {{"10.1.0.9"}}, Family::kV6);
  std::vector<const EndpointSlice*> slices{&otherNs, &wrongFamily, nullptr, &mine};
  const auto d = translate(svc, slices, node());
  REQUIRE(d.virtualServers.size() == 1);
  CHECK(realServers(d.virtualServers[0].realServers) ==
        std::vector<std::string>{"10.1.0.1:8080 w1"});
}

TEST_CASE("Endpoints on no node are never local", "[translate]") {
  NodeContext n = node();
  n.nodeName = "";
  auto svc = service("ns", "web", {"10.0.0.1"}, {port("p", 80)});
  auto s = slice(svc, "web-1", {epPort("p", 8080)}, {{"10.1.0.1", ""}});
  std::vector<const EndpointSlice*> slices{&s};
  const auto d = translate(svc, slices, n);
  CHECK(members(d.ipsetEntries, IpsetId::kLoopBack).empty());
  CHECK(d.healthCheck.localReadyEndpoints == 0);
}

TEST_CASE("Translation is a pure function of its input", "[translate]") {
  auto svc = service("ns", "web", {"10.0.0.1", "fd00::1"}, {port("p", 80, Protocol::kTcp, 30080)});
  svc.type = ServiceType::kLoadBalancer;
  svc.loadBalancerIPs = {ip("60.0.0.1"), ip("fd60::1")};
  svc.loadBalancerSourceRanges = {cidr("10.0.0.0/8"), cidr("fd00::/8")};
  NodeContext n = node({Family::kV4, Family::kV6});
  n.nodePortAddresses = {ip("192.168.0.1"), ip("fd00:1::1")};
  auto a = slice(svc, "a", {epPort("p", 8080)}, {{"10.1.0.1", "N"}, {"10.1.0.2"}});
  auto b = slice(svc, "b", {epPort("p", 8080)}, {{"fd01::1", "N"}}, Family::kV6);
  std::vector<const EndpointSlice*> ab{&a, &b};
  std::vector<const EndpointSlice*> ba{&b, &a};
  const auto first = translate(svc, ab, n);
  CHECK(first == translate(svc, ba, n));
  CHECK(first.virtualServers.size() == 6);
  CHECK(members(first.ipsetEntries, IpsetId::kLoadBalancerSourceCIDR, Family::kV6) ==
        std::set<std::string>{"fd60::1,tcp:80,fd00::/8"});
}
