// Scenario S11 (terminating endpoints) and endpoint-selection details: port matching,
// duplicates, topology hints.

#include <catch2/catch.hpp>

#include "planner_fixtures.h"

using namespace fx;

namespace {

Service s11Service(TrafficPolicy etp) {
  auto svc = service("ns1", "svc1", {"172.20.1.1"}, {port("p80", 80, Protocol::kTcp, 3001)});
  svc.type = ServiceType::kNodePort;
  svc.externalIPs = {ip("1.2.3.4")};
  svc.externalTrafficPolicy = etp;
  return svc;
}

std::vector<std::string> rs(const Harness& h, const char* addr, std::uint16_t p) {
  const auto* vs = h.vs(vsKey(addr, p));
  REQUIRE(vs);
  std::vector<std::string> out;
  for (const auto& r : vs->realServers) out.push_back(r.server.key.address.toString());
  return out;
}

}  // namespace

TEST_CASE("S11: terminating endpoints", "[scenario]") {
  Harness h;
  using V = std::vector<std::string>;
  SECTION("a) eTP Cluster: ready endpoints; LOOP-BACK has every local one") {
    auto svc = s11Service(TrafficPolicy::kCluster);
    h.put(svc);
    h.put(slice(svc, "s", {epPort("p80", 80)},
                {{"10.0.1.1", "N"},
                 {"10.0.1.2", "N"},
                 {"10.0.1.3", "N", false, true, true},
                 {"10.0.1.4", "N", false, false, true},
                 {"10.0.1.5", "other"}}));
    h.sync();
    CHECK(rs(h, "172.20.1.1", 80) == V{"10.0.1.1", "10.0.1.2", "10.0.1.5"});
    CHECK(rs(h, "1.2.3.4", 80) == V{"10.0.1.1", "10.0.1.2", "10.0.1.5"});
    CHECK(members(h.kernelState().ipsetEntries, IpsetId::kLoopBack).size() == 4);

    h.removeSlice({"ns1", "s"});
    h.syncChanged();
    CHECK(rs(h, "172.20.1.1", 80).empty());
    CHECK(rs(h, "1.2.3.4", 80).empty());
    CHECK(members(h.kernelState().ipsetEntries, IpsetId::kLoopBack).empty());
  }
  SECTION("b) eTP Local: external VS uses the local ready endpoints") {
    auto svc = s11Service(TrafficPolicy::kLocal);
    h.put(svc);
    h.put(slice(svc, "s", {epPort("p80", 80)},
                {{"10.0.1.1", "N"},
                 {"10.0.1.2", "N"},
                 {"10.0.1.3", "N", false, true, true},
                 {"10.0.1.4", "N", false, false, true},
                 {"10.0.1.5", "other"}}));
    h.sync();
    CHECK(rs(h, "172.20.1.1", 80) == V{"10.0.1.1", "10.0.1.2", "10.0.1.5"});
    CHECK(rs(h, "1.2.3.4", 80) == V{"10.0.1.1", "10.0.1.2"});
  }
  SECTION("c) eTP Cluster, nothing ready: serving+terminating fallback") {
    auto svc = s11Service(TrafficPolicy::kCluster);
    h.put(svc);
    h.put(slice(svc, "s", {epPort("p80", 80)},
                {{"10.0.1.1", "N", false, true, true},
                 {"10.0.1.2", "N", false, true, true},
                 {"10.0.1.3", "N", false, false, true},
                 {"10.0.1.4", "other", false, true, true},
                 {"10.0.1.5", "other", false, false, false}}));
    h.sync();
    CHECK(rs(h, "172.20.1.1", 80) == V{"10.0.1.1", "10.0.1.2", "10.0.1.4"});
    CHECK(rs(h, "1.2.3.4", 80) == V{"10.0.1.1", "10.0.1.2", "10.0.1.4"});
  }
  SECTION("d) eTP Local: local serving+terminating beats remote ready") {
    auto svc = s11Service(TrafficPolicy::kLocal);
    h.put(svc);
    h.put(slice(svc, "s", {epPort("p80", 80)},
                {{"10.0.1.1", "N", false, true, true},
                 {"10.0.1.2", "N", false, true, true},
                 {"10.0.1.3", "N", false, false, true},
                 {"10.0.1.4", "other", false, true, true},
                 {"10.0.1.5", "other"}}));
    h.sync();
    CHECK(rs(h, "172.20.1.1", 80) == V{"10.0.1.5"});
    CHECK(rs(h, "1.2.3.4", 80) == V{"10.0.1.1", "10.0.1.2"});
  }
}

TEST_CASE("Real-server ports come from the slice port of the same name and protocol",
          "[translate]") {
  auto svc =
      service("ns", "web", {"10.0.0.1"}, {port("http", 80), port("dns", 53, Protocol::kUdp)});
  auto s1 =
      slice(svc, "a", {epPort("http", 8080), epPort("dns", 5353, Protocol::kTcp)}, {{"10.1.0.1"}});
  auto s2 =
      slice(svc, "b", {epPort("dns", 5353, Protocol::kUdp), epPort("http", 0)}, {{"10.1.0.2"}});
  auto other =
      slice(service("ns", "db", {"10.0.0.2"}, {}), "c", {epPort("http", 9)}, {{"10.1.0.9"}});
  std::vector<const EndpointSlice*> slices{&s2, &other, &s1};
  const auto d = translate(svc, slices, node());
  REQUIRE(d.virtualServers.size() == 2);
  CHECK(realServers(find(d, vsKey("10.0.0.1", 80))->realServers) ==
        std::vector<std::string>{"10.1.0.1:8080 w1"});
  CHECK(realServers(find(d, vsKey("10.0.0.1", 53, Protocol::kUdp))->realServers) ==
        std::vector<std::string>{"10.1.0.2:5353 w1"});
}

TEST_CASE("An endpoint in two slices counts once, with its best conditions", "[translate]") {
  auto svc = service("ns", "web", {"10.0.0.1"}, {port("", 80)});
  auto a = slice(svc, "a", {epPort("", 80)}, {{"10.1.0.1", "", false, false, false}});
  auto b = slice(svc, "b", {epPort("", 80)}, {{"10.1.0.1"}, {"10.1.0.1"}});
  std::vector<const EndpointSlice*> slices{&a, &b};
  const auto d = translate(svc, slices, node());
  CHECK(realServers(d.virtualServers.at(0).realServers) ==
        std::vector<std::string>{"10.1.0.1:80 w1"});
}

TEST_CASE("Topology hints narrow the cluster endpoints when usable", "[translate]") {
  NodeContext n = node();
  n.zone = "zone-a";
  auto svc = service("ns", "web", {"10.0.0.1"}, {port("", 80)});
  auto s = slice(svc, "a", {epPort("", 80)}, {{"10.1.0.1"}, {"10.1.0.2"}, {"10.1.0.3"}});
  s.endpoints[0].hintZones = {"zone-a"};
  s.endpoints[1].hintZones = {"zone-b"};
  s.endpoints[2].hintZones = {"zone-a"};
  std::vector<const EndpointSlice*> slices{&s};
  auto ips = [&](const NodeContext& ctx) {
    const auto d = translate(svc, slices, ctx);
    std::vector<std::string> out;
    for (const auto& r : d.virtualServers.at(0).realServers) {
      out.push_back(r.key.address.toString());
    }
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(ips(n) == V{"10.1.0.1", "10.1.0.3"});
  NodeContext zoneless = n;
  zoneless.zone = "zone-c";  // no endpoint hinted for this zone: hints are ignored
  CHECK(ips(zoneless).size() == 3);
  s.endpoints[1].hintZones.clear();  // one ready endpoint without a hint: ignored
  CHECK(ips(n).size() == 3);
  s.endpoints[1].hintZones = {"zone-b"};
  for (auto& ep : s.endpoints) ep.hintNodes = {"other"};
  s.endpoints[1].hintNodes = {"N"};  // node hints win over zone hints
  CHECK(ips(n) == V{"10.1.0.2"});
}
