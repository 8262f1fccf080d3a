// Randomized properties of diff()/diffKeys() (seeded, reproducible):
//  1. every operation of diff(desired, observed) applies cleanly to observed;
//  2. the result holds exactly the desired state for owned objects (drains aside), leaves
//     foreign, excluded and other-family objects untouched, and removes stale owned ones;
//  3. a second diff is empty;
//  4. after Service changes, diffKeys() over the changed keys converges to the same state as
//     a full diff would.

#include <catch2/catch.hpp>
#include <random>

#include "ipvs/kernel_text.h"
#include "planner_fixtures.h"

using namespace fx;

namespace {

class World {
 public:
  explicit World(std::uint32_t seed) : rng_(seed) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool coin(int percent = 50) { return pick(100) < percent; }

  NodeContext makeNode() {
    NodeContext n = node();
    const int fam = pick(3);
    n.families = fam == 0   ? std::vector<Family>{Family::kV4}
                 : fam == 1 ? std::vector<Family>{Family::kV6}
                            : std::vector<Family>{Family::kV4, Family::kV6};
    n.nodePortAddresses = {ip("192.168.0.1"), ip("fd00:1::1")};
    if (coin()) n.nodePortAddresses.push_back(ip("192.168.0.2"));
    if (coin(30)) n.otherLocalAddresses = {ip("50.0.0.2"), ip("fd50::2")};
    if (coin(30)) n.excludeCIDRs = {cidr("10.0.0.8/29"), cidr("fd10::8/125")};
    n.nodeIPs = {ip("192.168.0.1")};
    return n;
  }

  IpAddress v4(const char* prefix, int range) {
    return ip((std::string(prefix) + std::to_string(pick(range) + 1)).c_str());
  }
  IpAddress v6(const char* prefix, int range) {
    return ip((std::string(prefix) + std::to_string(pick(range) + 1)).c_str());
  }

  Service makeService(int i) {
    Service s = service("ns", ("svc" + std::to_string(i)).c_str(), {}, {});
    if (coin(80)) s.clusterIPs.push_back(v4("10.0.0.", 14));
    if (coin(40)) s.clusterIPs.push_back(v6("fd10::", 14));
    const int ports = pick(3) + 1;
    for (int p = 0; p < ports; ++p) {
      const Protocol proto = std::array{Protocol::kTcp, Protocol::kUdp,
                                        Protocol::kSctp}[static_cast<std::size_t>(pick(3))];
      s.ports.push_back(port(("p" + std::to_string(p)).c_str(),
                             static_cast<std::uint16_t>(80 + pick(4)), proto,
                             coin(30) ? static_cast<std::uint16_t>(30000 + pick(5)) : 0));
    }
    if (coin(30)) s.externalIPs = {v4("50.0.0.", 3), v6("fd50::", 3)};
    if (coin(20)) {
      s.type = ServiceType::kLoadBalancer;
      s.loadBalancerIPs = {v4("60.0.0.", 3)};
      if (coin()) s.loadBalancerSourceRanges = {cidr("192.168.0.0/16"), cidr("0.0.0.0/0")};
    }
    s.sessionAffinityClientIP = coin(20);
    s.externalTrafficPolicy = coin(30) ? TrafficPolicy::kLocal : TrafficPolicy::kCluster;
    s.internalTrafficPolicy = coin(20) ? TrafficPolicy::kLocal : TrafficPolicy::kCluster;
    s.healthCheckNodePort = coin(20) ? 32000 : 0;
    if (coin(20))
      setPair(s.annotations, std::string(kAnnotationScheduler), coin() ? "sh" : "bogus");
    return s;
  }

  EndpointSlice makeSlice(const Service& svc, Family f) {
    std::vector<EndpointPort> ports;
    for (const auto& p : svc.ports) {
      ports.push_back(
          epPort(p.name.c_str(), static_cast<std::uint16_t>(8080 + pick(2)), p.protocol));
    }
    EndpointSlice s =
        slice(svc, (svc.key.name + (f == Family::kV4 ? "-4" : "-6")).c_str(), ports, {}, f);
    const int n = pick(5);
    for (int i = 0; i < n; ++i) {
      Endpoint ep;
      ep.address = f == Family::kV4 ? v4("10.1.0.", 8) : v6("fd01::", 8);
      ep.nodeName = coin() ? "N" : "other";
      ep.ready = coin(70);
      ep.serving = ep.ready || coin();
      ep.terminating = !ep.ready && coin();
      s.endpoints.push_back(ep);
    }
    return s;
  }

  // Services and slices of one random cluster, translated into `ds`.
  void populate(const NodeContext& n, DesiredState& ds, ChangedKeys* changed = nullptr) {
    const int count = pick(10);
    for (int i = 0; i < count; ++i) {
      Service s = makeService(pick(12));
      auto s4 = makeSlice(s, Family::kV4);
      auto s6 = makeSlice(s, Family::kV6);
      std::vector<const EndpointSlice*> slices{&s4, &s6};
      auto c = ds.update(s.key, translate(s, slices, n));
      if (changed) changed->merge(c);
      if (coin(15)) {
        auto r = ds.remove(s.key);
        if (changed) changed->merge(r);
      }
    }
  }

  // Random noise on a kernel state: foreign VSs, drifted weights, counters, stray members.
  void disturb(KernelState& k) {
    for (auto& [key, vs] : k.virtualServers) {
      for (auto& rs : vs.realServers) {
        if (coin(30)) rs.conns.activeConns = static_cast<std::uint32_t>(pick(3));
        if (coin(10)) rs.server.weight = static_cast<std::uint32_t>(pick(3));
      }
      if (coin(10)) vs.server.scheduler = "wlc";
    }
    for (int i = 0; i < 3; ++i) {
      ObservedVirtualServer foreign;
      foreign.server.key = {coin() ? v4("172.16.0.", 5) : v6("fd72::", 5), Protocol::kTcp,
                            static_cast<std::uint16_t>(80 + pick(4)), 0};
      foreign.realServers.push_back({RealServer{{ip("172.17.0.1"), 80}}, {}});
      k.virtualServers.try_emplace(foreign.server.key, foreign);
    }
    if (coin()) k.boundAddresses.insert(v4("10.0.0.", 14));
    if (coin()) k.ipsetEntries.insert({IpsetId::kNodePortTcp, Family::kV6, "30001"});
    if (coin()) k.ipsetEntries.insert({IpsetId::kLoopBack, Family::kV4, "10.9.9.9,tcp:1,10.9.9.9"});
  }

 private:
  std::mt19937 rng_;
};

bool excludedKey(const DiffOptions& o, const IpAddress& ip) {
  return std::any_of(o.excludeCIDRs.begin(), o.excludeCIDRs.end(),
                     [&](const Cidr& c) { return c.contains(ip); });
}

bool handled(const DiffOptions& o, Family f) {
  return std::find(o.families.begin(), o.families.end(), f) != o.families.end();
}

KernelState applyAll(KernelState k, const Plan& plan) {
  for (const auto& op : plan.operations) {
    INFO(describe(op));
    REQUIRE(applyTo(k, op));
  }
  return k;
}

void checkConverged(const DesiredState& ds, const KernelState& before, const KernelState& after,
                    const Plan& plan, const DiffOptions& o) {
  std::set<std::pair<VirtualServerKey, RealServerKey>> draining;
  for (const auto& d : plan.draining) draining.insert({d.virtualServer, d.realServer});
  for (const auto* want : ds.virtualServers()) {
    const auto& key = want->server.key;
    if (excludedKey(o, key.address)) continue;
    REQUIRE(after.virtualServers.count(key));
    const auto& have = after.virtualServers.at(key);
    CHECK(have.server.scheduler == want->server.scheduler);
    CHECK(have.server.flags == want->server.flags);
    std::vector<RealServer> got;
    for (const auto& rs : have.realServers) {
      if (draining.count({key, rs.server.key})) {
        CHECK(rs.server.weight == 0);
      } else {
        got.push_back(rs.server);
      }
    }
    CHECK(got == want->realServers);
  }
  for (const auto& [key, vs] : before.virtualServers) {
    if (ds.virtualServer(key) && !excludedKey(o, key.address)) continue;
    // Independent oracle: disturb() adds the only foreign VSs (172.16/16, fd72::/16); every
    // other VS was made by the agent from an older desired state.
    const bool foreign =
        cidr("172.16.0.0/16").contains(key.address) || cidr("fd72::/16").contains(key.address);
    const bool untouchable = !handled(o, key.family()) || excludedKey(o, key.address) || foreign;
    INFO(formatVirtualServerKey(key));
    if (untouchable) {
      REQUIRE(after.virtualServers.count(key));
      CHECK(realServers(after.virtualServers.at(key)) == realServers(vs));
    } else {
      CHECK(after.virtualServers.count(key) == 0);
    }
  }
  for (const auto& e : after.ipsetEntries) {
    if (handled(o, e.family)) CHECK(ds.hasIpsetEntry(e));
  }
  for (const auto& e : ds.ipsetEntries()) CHECK(after.ipsetEntries.count(e) == 1);
  for (const auto& a : ds.addresses()) CHECK(after.boundAddresses.count(a) == 1);
  for (const auto& a : after.boundAddresses) {
    if (handled(o, a.family()) && !excludedKey(o, a)) CHECK(ds.hasAddress(a));
  }
}

// The same diff with a sink that applies each chunk to the very state the diff reads, as the
// reconciler does, must make the same plan. Returns the number of chunks the sink took.
std::size_t checkStreamed(const DesiredState& desired, const KernelState& observed,
                          const DiffOptions& o, const Plan& whole, std::size_t chunk) {
  std::size_t chunks = 0;
  KernelState live = observed;
  std::vector<std::string> streamed;
  const PlanSink sink{chunk, [&](std::vector<Operation>& ops) {
                        ++chunks;
                        for (const auto& op : ops) {
                          streamed.push_back(describe(op));
                          (void)applyTo(live, op);
                        }
                      }};
  const Plan rest = diff(desired, live, o, &sink);
  for (const auto& op : rest.operations) streamed.push_back(describe(op));
  std::vector<std::string> expected;
  for (const auto& op : whole.operations) expected.push_back(describe(op));
  CHECK(streamed == expected);
  CHECK(rest.draining == whole.draining);
  CHECK(rest.excludedDesired == whole.excludedDesired);
  return chunks;
}

}  // namespace

TEST_CASE("Applying diff(desired, observed) yields the desired state", "[diff][property]") {
  std::map<std::string, int> seen;  // operation kinds and drains over all seeds
  std::size_t chunks = 0;           // taken by the streamed diffs
  for (std::uint32_t seed = 1; seed <= 300; ++seed) {
    INFO("seed " << seed);
    World w(seed);
    const NodeContext n = w.makeNode();
    DiffOptions o;
    o.families = n.families;
    o.excludeCIDRs = n.excludeCIDRs;
    o.resetWeights = w.coin(20);
    if (w.coin(30)) {
      o.drainExpired = [](const VirtualServerKey&, const RealServerKey& rs) {
        return rs.address.bytes()[rs.address.byteLength() - 1] % 2 == 0;
      };
    }
    // The kernel holds what an older cluster state left, plus noise.
    DesiredState old;
    w.populate(n, old);
    KernelState observed = applyAll({}, diff(old, {}, o));
    w.disturb(observed);

    DesiredState desired;
    w.populate(n, desired);
    const Plan plan = diff(desired, observed, o);
    chunks += checkStreamed(desired, observed, o, plan, 1 + seed % 5);
    const KernelState after = applyAll(observed, plan);
    checkConverged(desired, observed, after, plan, o);
    const Plan again = diff(desired, after, o);
    CHECK(again.operations.empty());
    CHECK(again.draining == plan.draining);
    for (const auto& op : plan.operations) ++seen[std::string(operationKind(op))];
    seen["draining"] += static_cast<int>(plan.draining.size());
  }
  // The generator must reach every kind of change, or the property proves little.
  for (const char* kind :
       {"add_virtual_server", "edit_virtual_server", "delete_virtual_server", "add_real_server",
        "edit_real_server", "delete_real_server", "add_ipset_entry", "delete_ipset_entry",
        "bind_address", "unbind_address", "draining"}) {
    INFO(kind);
    CHECK(seen[kind] > 0);
  }
  CHECK(chunks > 100);  // the generator's plans are long enough to be cut
}

TEST_CASE("diffKeys over the changed keys converges like a full diff", "[diff][property]") {
  for (std::uint32_t seed = 1000; seed < 1300; ++seed) {
    INFO("seed " << seed);
    World w(seed);
    const NodeContext n = w.makeNode();
    DiffOptions o;
    o.families = n.families;
    o.excludeCIDRs = n.excludeCIDRs;
    DesiredState desired;
    w.populate(n, desired);
    KernelState synced = applyAll({}, diff(desired, {}, o));
    for (auto& [key, vs] : synced.virtualServers) {
      for (auto& rs : vs.realServers) rs.conns.inactiveConns = w.coin(30) ? 1 : 0;
    }
    ChangedKeys changed;
    w.populate(n, desired, &changed);
    const Plan plan = diffKeys(desired, synced, o, changed);
    const KernelState after = applyAll(synced, plan);
    const Plan full = diff(desired, after, o);
    for (const auto& op : full.operations) FAIL_CHECK("left over: " << describe(op));
    checkConverged(desired, synced, after, plan, o);
  }
}
