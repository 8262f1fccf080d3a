// diff(): operation order, in-place edits, idempotence.

#include <catch2/catch.hpp>

#include "planner_fixtures.h"

using namespace fx;

namespace {

// Phase rank per diff.h. Virtual servers and their real servers share a phase (each VS comes
// right before its own real servers); edits and deletes of real servers appear in two phases,
// so only the unambiguous kinds are ranked.
int rank(const Operation& op) {
  const std::string_view k = operationKind(op);
  if (k == "add_ipset_entry") return 0;
  if (k == "add_virtual_server" || k == "edit_virtual_server" || k == "add_real_server") return 1;
  if (k == "bind_address") return 3;
  if (k == "unbind_address") return 5;
  if (k == "delete_virtual_server") return 6;
  if (k == "delete_ipset_entry") return 7;
  return -1;
}

bool ordered(const Plan& plan) {
  int last = 0;
  std::set<VirtualServerKey> added;
  for (const auto& op : plan.operations) {
    if (const auto* a = std::get_if<AddVirtualServer>(&op)) added.insert(a->server.key);
    if (const auto* r = std::get_if<AddRealServer>(&op)) {
      if (!added.count(r->virtualServer)) return false;  // a real server before its VS
    }
    const int r = rank(op);
    if (r < 0) continue;
    if (r < last) return false;
    last = r;
  }
  return true;
}

}  // namespace

TEST_CASE("A fresh sync adds in phase order, then an empty second diff", "[diff]") {
  NodeContext n = node();
  n.nodePortAddresses = {ip("192.168.0.1")};
  Harness h(n);
  auto svc = service("ns", "a", {"10.0.0.1"}, {port("p", 80, Protocol::kTcp, 30080)});
  svc.type = ServiceType::kNodePort;
  h.put(svc);
  h.put(slice(svc, "s", {epPort("p", 8080)}, {{"10.1.0.1"}, {"10.1.0.2"}}));
  const auto plan = h.sync();
  CHECK(ordered(plan));
  CHECK(std::holds_alternative<AddIpsetEntry>(plan.operations.front()));
  CHECK(std::holds_alternative<BindAddress>(plan.operations.back()));
  CHECK(h.sync().operations.empty());

  h.removeService(svc.key);
  const auto down = h.syncChanged();
  CHECK(ordered(down));
  CHECK(std::holds_alternative<UnbindAddress>(down.operations.front()));
  CHECK(std::holds_alternative<DeleteIpsetEntry>(down.operations.back()));
  CHECK(h.kernelState().virtualServers.empty());
  CHECK(h.kernelState().ipsetEntries.empty());
  CHECK(h.kernelState().boundAddresses.empty());
}

TEST_CASE("Scheduler changes edit the VS in place and keep its real servers", "[diff]") {
  Harness h;
  auto svc = service("ns", "a", {"10.0.0.1"}, {port("p", 80)});
  h.put(svc);
  h.put(slice(svc, "s", {epPort("p", 80)}, {{"10.1.0.1"}}));
  h.sync();
  setPair(svc.annotations, std::string(kAnnotationScheduler), "mh");
  h.put(svc);
  const auto plan = h.syncChanged();
  REQUIRE(plan.operations.size() == 1);
  CHECK(std::holds_alternative<EditVirtualServer>(plan.operations[0]));
  const auto* vs = h.vs(vsKey("10.0.0.1", 80));
  CHECK(vs->server.scheduler == "mh");
  CHECK(vs->server.flags == kFlagSched2);
  CHECK(vs->realServers.size() == 1);
}

TEST_CASE("The kernel's hashed flag and an unset netmask are not differences", "[diff]") {
  Harness h;
  h.put(service("ns", "a", {"10.0.0.1"}, {port("p", 80)}));
  h.sync();
  auto& vs = h.kernel.mutableState().virtualServers.begin()->second.server;
  vs.flags |= kFlagHashed;
  vs.netmask = 0;
  CHECK(h.sync().operations.empty());
  vs.netmask = 24;
  CHECK(h.sync().operations.size() == 1);
}

TEST_CASE("Drifted real servers are edited back", "[diff]") {
  Harness h;
  auto svc = service("ns", "a", {"10.0.0.1"}, {port("p", 80)});
  h.put(svc);
  h.put(slice(svc, "s", {epPort("p", 80)}, {{"10.1.0.1"}}));
  h.sync();
  auto& rs = h.kernel.mutableState().virtualServers.begin()->second.realServers[0].server;
  rs.weight = 5;
  rs.method = ForwardMethod::kDirectRoute;
  const auto plan = h.sync();
  REQUIRE(plan.operations.size() == 1);
  CHECK(std::holds_alternative<EditRealServer>(plan.operations[0]));
  CHECK(rs.weight == 1);
  CHECK(rs.method == ForwardMethod::kMasquerade);
}

TEST_CASE("diffKeys only looks at the keys it is given", "[diff]") {
  Harness h;
  h.put(service("ns", "a", {"10.0.0.1"}, {port("p", 80)}));
  h.put(service("ns", "b", {"10.0.0.2"}, {port("p", 80)}));
  ChangedKeys onlyA;
  onlyA.virtualServers = {vsKey("10.0.0.1", 80)};
  const auto plan = diffKeys(h.desired, h.kernel.state(), h.options, onlyA);
  REQUIRE(plan.operations.size() == 1);
  CHECK(describe(plan.operations[0]) == "add virtual server TCP 10.0.0.1:80 rr");
}

TEST_CASE("Objects of families the agent does not handle are never touched", "[diff]") {
  Harness h;  // IPv4 only
  auto& k = h.kernel.mutableState();
  k.ipsetEntries.insert({IpsetId::kClusterIP, Family::kV6, "fd00::1,tcp:80"});
  k.boundAddresses.insert(ip("fd00::1"));
  ObservedVirtualServer v6;
  v6.server.key = vsKey("fd00::1", 80);
  k.virtualServers[v6.server.key] = v6;
  CHECK(h.sync().operations.empty());
}
