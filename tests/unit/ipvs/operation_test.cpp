// operation.h (applyTo, describe, operationKind) and the MemoryDataplane.

#include <catch2/catch.hpp>
#include <cerrno>

#include "planner_fixtures.h"

using namespace fx;

namespace {

VirtualServer vs(const char* addr, std::uint16_t p) {
  VirtualServer v;
  v.key = vsKey(addr, p);
  v.netmask = 32;
  return v;
}

RealServer rs(const char* addr, std::uint16_t p, std::uint32_t w = 1) {
  RealServer r;
  r.key = rsKey(addr, p);
  r.weight = w;
  return r;
}

}  // namespace

TEST_CASE("applyTo follows the kernel's semantics", "[operation]") {
  KernelState k;
  const auto key = vsKey("10.0.0.1", 80);
  CHECK(applyTo(k, AddVirtualServer{vs("10.0.0.1", 80)}));
  CHECK_FALSE(applyTo(k, AddVirtualServer{vs("10.0.0.1", 80)}));
  CHECK(applyTo(k, AddRealServer{key, rs("10.1.0.2", 80)}));
  CHECK(applyTo(k, AddRealServer{key, rs("10.1.0.1", 80)}));
  CHECK_FALSE(applyTo(k, AddRealServer{key, rs("10.1.0.1", 80)}));
  CHECK_FALSE(applyTo(k, AddRealServer{vsKey("10.0.0.9", 80), rs("10.1.0.1", 80)}));
  REQUIRE(k.virtualServers[key].realServers.size() == 2);
  CHECK(k.virtualServers[key].realServers[0].server.key == rsKey("10.1.0.1", 80));  // sorted

  k.virtualServers[key].realServers[0].conns.activeConns = 3;
  CHECK(applyTo(k, EditRealServer{key, rs("10.1.0.1", 80, 0)}));
  CHECK(k.virtualServers[key].realServers[0].server.weight == 0);
  CHECK(k.virtualServers[key].realServers[0].conns.activeConns == 3);
  CHECK_FALSE(applyTo(k, EditRealServer{key, rs("10.1.0.7", 80)}));
  CHECK(applyTo(k, DeleteRealServer{key, rsKey("10.1.0.1", 80)}));
  CHECK_FALSE(applyTo(k, DeleteRealServer{key, rsKey("10.1.0.1", 80)}));

  auto edited = vs("10.0.0.1", 80);
  edited.scheduler = "lc";
  edited.flags = kFlagHashed | kFlagPersistent;
  CHECK(applyTo(k, EditVirtualServer{edited}));
  CHECK(k.virtualServers[key].server.scheduler == "lc");
  CHECK(k.virtualServers[key].server.flags == kFlagPersistent);
  CHECK(k.virtualServers[key].realServers.size() == 1);
  CHECK(applyTo(k, DeleteVirtualServer{key}));
  CHECK_FALSE(applyTo(k, DeleteVirtualServer{key}));
  CHECK_FALSE(applyTo(k, EditVirtualServer{edited}));

  const IpsetEntry e{IpsetId::kClusterIP, Family::kV4, "10.0.0.1,tcp:80"};
  CHECK(applyTo(k, AddIpsetEntry{e}));
  CHECK_FALSE(applyTo(k, AddIpsetEntry{e}));
  CHECK(applyTo(k, DeleteIpsetEntry{e}));
  CHECK_FALSE(applyTo(k, DeleteIpsetEntry{e}));
  CHECK(applyTo(k, BindAddress{ip("10.0.0.1")}));
  CHECK_FALSE(applyTo(k, BindAddress{ip("10.0.0.1")}));
  CHECK(applyTo(k, UnbindAddress{ip("10.0.0.1")}));
  CHECK_FALSE(applyTo(k, UnbindAddress{ip("10.0.0.1")}));
}

TEST_CASE("the mirror's real server stays compact", "[operation]") {
  // 100k of these at 10k Services x 10, in the agent's mirror and in each full dump: the
  // kernel's traffic counters (96 bytes with them) must not come back.
  CHECK(sizeof(ObservedRealServer) <= sizeof(RealServer) + 2 * sizeof(std::uint32_t));
  CHECK(sizeof(ObservedRealServer) <= 44);
}

TEST_CASE("describe and operationKind", "[operation]") {
  const auto key = vsKey("10.20.30.41", 80);
  auto sh = vs("10.20.30.41", 80);
  sh.scheduler = "sh";
  sh.flags = kFlagSched1 | kFlagSched2 | kFlagPersistent;
  sh.timeout = 10800;
  CHECK(describe(AddVirtualServer{sh}) ==
        "add virtual server TCP 10.20.30.41:80 sh (sh-fallback,sh-port) persistent 10800");
  CHECK(describe(AddRealServer{key, rs("10.180.0.1", 80)}) ==
        "add real server 10.180.0.1:80 w1 to TCP 10.20.30.41:80");
  CHECK(describe(EditRealServer{key, rs("10.180.0.1", 80, 0)}) ==
        "edit real server 10.180.0.1:80 w0 in TCP 10.20.30.41:80");
  CHECK(describe(DeleteRealServer{vsKey("fd00::1", 53, Protocol::kUdp), rsKey("fd01::2", 53)}) ==
        "delete real server [fd01::2]:53 from UDP [fd00::1]:53");
  CHECK(describe(AddIpsetEntry{{IpsetId::kClusterIP, Family::kV6, "fd00::1,tcp:80"}}) ==
        "add ipset entry KUBE-6-CLUSTER-IP fd00::1,tcp:80");
  CHECK(describe(UnbindAddress{ip("10.0.0.1")}) == "unbind 10.0.0.1 from kube-ipvs0");
  CHECK(operationKind(DeleteVirtualServer{key}) == "delete_virtual_server");
  CHECK(operationKind(BindAddress{ip("10.0.0.1")}) == "bind_address");
}

TEST_CASE("MemoryDataplane: idempotent adds and deletes, real errors otherwise", "[dataplane]") {
  MemoryDataplane dp;
  const auto key = vsKey("10.0.0.1", 80);
  const std::vector<Operation> ops{
      AddVirtualServer{vs("10.0.0.1", 80)},
      AddVirtualServer{vs("10.0.0.1", 80)},
      AddRealServer{key, rs("10.1.0.1", 80)},
      EditRealServer{key, rs("10.1.0.9", 80)},
      DeleteVirtualServer{vsKey("10.0.0.2", 80)},
      AddRealServer{vsKey("10.0.0.2", 80), rs("10.1.0.1", 80)},
      DeleteRealServer{vsKey("10.0.0.2", 80), rsKey("10.1.0.1", 80)},
      EditVirtualServer{vs("10.0.0.3", 80)},
  };
  const auto r = dp.apply(ops);
  REQUIRE(r.results.size() == ops.size());
  CHECK_FALSE(r.results[0]);
  CHECK_FALSE(r.results[1]);
  CHECK_FALSE(r.results[2]);
  CHECK(r.results[3] == errnoCode(ENOENT));
  CHECK_FALSE(r.results[4]);
  CHECK(r.results[5] == errnoCode(ESRCH));
  CHECK_FALSE(r.results[6]);
  CHECK(r.results[7] == errnoCode(ESRCH));
  CHECK(r.failed == 3);
  CHECK(r.idempotent == 3);
  CHECK(dp.applyCalls() == 1);

  auto seen = dp.observe();
  REQUIRE(seen.has_value());
  CHECK(seen->virtualServers.size() == 1);
  CHECK(dp.setConnections(key, rsKey("10.1.0.1", 80), 2, 5));
  CHECK_FALSE(dp.setConnections(key, rsKey("10.1.0.2", 80), 2, 5));
  CHECK(dp.state().virtualServers.at(key).realServers[0].conns.inactiveConns == 5);

  dp.injectErrors([](const Operation& op) {
    return std::holds_alternative<BindAddress>(op) ? errnoCode(ENOBUFS) : std::error_code{};
  });
  const std::vector<Operation> more{BindAddress{ip("10.0.0.1")}, UnbindAddress{ip("10.0.0.1")}};
  const auto r2 = dp.apply(more);
  CHECK(r2.results[0] == errnoCode(ENOBUFS));
  CHECK(dp.state().boundAddresses.empty());
  dp.failObserve(errnoCode(EIO));
  CHECK_FALSE(dp.observe().has_value());
}
