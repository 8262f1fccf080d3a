// Scenario S12: graceful termination of real servers
// (docs/kube-proxy-behaviour.md#graceful-termination).

#include <catch2/catch.hpp>

#include "ipvs/kernel_text.h"
#include "planner_fixtures.h"

using namespace fx;

namespace {

struct Fixture {
  explicit Fixture(Protocol p) : proto(p) {
    svc = service("ns1", "svc1", {"10.20.30.41"}, {port("p80", 80, proto)});
    h.put(svc);
    h.put(slice(svc, "s", {epPort("p80", 80, proto)}, {{"10.180.0.1"}, {"10.180.0.2"}}));
    h.sync();
  }
  void dropFirstEndpoint() { h.put(slice(svc, "s", {epPort("p80", 80, proto)}, {{"10.180.0.2"}})); }
  const ObservedRealServer* rs(const char* addr) const {
    const auto* vs = h.vs(key);
    REQUIRE(vs);
    for (const auto& r : vs->realServers) {
      if (r.server.key.address == ip(addr)) return &r;
    }
    return nullptr;
  }

  Protocol proto;
  Service svc;
  Harness h;
  VirtualServerKey key = {ip("10.20.30.41"), proto, 80, 0};
};

}  // namespace

TEST_CASE("S12: a TCP real server with connections drains at weight 0", "[graceful]") {
  Fixture f(Protocol::kTcp);
  REQUIRE(f.h.kernel.setConnections(f.key, rsKey("10.180.0.1", 80), 4, 0));
  f.dropFirstEndpoint();
  auto plan = f.h.syncChanged();
  REQUIRE(plan.draining.size() == 1);
  CHECK(plan.draining[0].realServer == rsKey("10.180.0.1", 80));
  CHECK(plan.draining[0].activeConns == 4);
  CHECK(formatDrainId(plan.draining[0].virtualServer, plan.draining[0].realServer) ==
        "10.20.30.41:80/TCP/10.180.0.1:80");
  REQUIRE(f.rs("10.180.0.1"));
  CHECK(f.rs("10.180.0.1")->server.weight == 0);
  CHECK(f.rs("10.180.0.2")->server.weight == 1);

  // Still connected: nothing more to do, still draining.
  ChangedKeys recheck;
  recheck.virtualServers = {f.key};
  auto again = diffKeys(f.h.desired, f.h.kernel.state(), f.h.options, recheck);
  CHECK(again.operations.empty());
  CHECK(again.draining.size() == 1);

  SECTION("deleted once the counters reach zero") {
    REQUIRE(f.h.kernel.setConnections(f.key, rsKey("10.180.0.1", 80), 0, 0));
    auto done = diffKeys(f.h.desired, f.h.kernel.state(), f.h.options, recheck);
    CHECK(done.draining.empty());
    REQUIRE(done.operations.size() == 1);
    CHECK(std::holds_alternative<DeleteRealServer>(done.operations[0]));
    REQUIRE(f.h.kernel.apply(done.operations).failed == 0);
    CHECK_FALSE(f.rs("10.180.0.1"));
  }
  SECTION("deleted with connections once its drain deadline passed") {
    f.h.options.drainExpired = [](const VirtualServerKey&, const RealServerKey& rs) {
      return rs.address.toString() == "10.180.0.1";
    };
    auto done = diffKeys(f.h.desired, f.h.kernel.state(), f.h.options, recheck);
    CHECK(done.draining.empty());
    REQUIRE(f.h.kernel.apply(done.operations).failed == 0);
    CHECK_FALSE(f.rs("10.180.0.1"));
  }
  SECTION("the endpoint comes back: delete and re-add with weight 1, like kube-proxy") {
    f.h.put(slice(f.svc, "s", {epPort("p80", 80)}, {{"10.180.0.1"}, {"10.180.0.2"}}));
    auto back = f.h.syncChanged();
    REQUIRE(back.operations.size() == 2);
    CHECK(std::holds_alternative<DeleteRealServer>(back.operations[0]));
    CHECK(std::holds_alternative<AddRealServer>(back.operations[1]));
    CHECK(f.rs("10.180.0.1")->server.weight == 1);
  }
  SECTION("first sync after a restart: weights are edited back to 1") {
    f.h.put(slice(f.svc, "s", {epPort("p80", 80)}, {{"10.180.0.1"}, {"10.180.0.2"}}));
    f.h.options.resetWeights = true;
    auto reset = f.h.sync();
    REQUIRE(reset.operations.size() == 1);
    CHECK(std::holds_alternative<EditRealServer>(reset.operations[0]));
    CHECK(f.rs("10.180.0.1")->server.weight == 1);
    CHECK(f.rs("10.180.0.1")->conns.activeConns == 4);  // same destination, counters kept
  }
}

TEST_CASE("S12: a TCP real server without connections goes at once", "[graceful]") {
  Fixture f(Protocol::kTcp);
  f.dropFirstEndpoint();
  auto plan = f.h.syncChanged();
  CHECK(plan.draining.empty());
  CHECK_FALSE(f.rs("10.180.0.1"));
}

TEST_CASE("S12: UDP and SCTP real servers are deleted at once despite connections", "[graceful]") {
  for (Protocol proto : {Protocol::kUdp, Protocol::kSctp}) {
    Fixture f(proto);
    REQUIRE(f.h.kernel.setConnections(f.key, rsKey("10.180.0.1", 80), 3, 7));
    f.dropFirstEndpoint();
    auto plan = f.h.syncChanged();
    CHECK(plan.draining.empty());
    CHECK_FALSE(f.rs("10.180.0.1"));
    CHECK(f.rs("10.180.0.2"));
  }
}

TEST_CASE("Deleting a Service removes its VS at once, live connections or not", "[graceful]") {
  Fixture f(Protocol::kTcp);
  REQUIRE(f.h.kernel.setConnections(f.key, rsKey("10.180.0.1", 80), 9, 9));
  f.h.removeService(f.svc.key);
  auto plan = f.h.syncChanged();
  CHECK(plan.draining.empty());
  CHECK(f.h.kernelState().virtualServers.empty());
}
