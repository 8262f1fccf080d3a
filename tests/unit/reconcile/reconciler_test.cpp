// The reconciler against the in-memory kernel: incremental cost, adoption without flushing,
// drift repair, error recovery and drains. Assertions read the resulting kernel state.

#include "reconcile/reconciler.h"

#include <catch2/catch.hpp>

#include "ipvs/ipvsadm_format.h"
#include "ipvs/memory_dataplane.h"
#include "tests/unit/reconcile/fixtures.h"

using namespace ipvs;
using reconcile::Clock;
const Clock::TimePoint kNow = Clock::TimePoint{} + std::chrono::hours(1);
using reconcile::Reconciler;
using namespace reconcile::test;

TEST_CASE("first sync programs every Service, then one endpoint change costs one operation",
          "[reconciler]") {
  MemoryDataplane kernel;
  Reconciler r(kernel, {node(), std::nullopt, {}});
  for (int i = 0; i < 50; ++i) {
    const std::string name = "svc" + std::to_string(i);
    const std::string vip = "10.96.0." + std::to_string(i + 1);
    r.upsertService(service(name, vip.c_str()), kNow);
    r.upsertSlice(slice(name, {"10.244.0.1", "10.244.0.2"}), kNow);
  }
  auto first = r.sync(kNow);
  CHECK(first.full);
  CHECK(first.failures.empty());
  CHECK(kernel.state().virtualServers.size() == 50);
  CHECK(kernel.state().boundAddresses.size() == 50);
  // Every acknowledged operation is counted by kind (ipvs_agent_netlink_operations_total).
  CHECK(first.appliedByKind.at("add_virtual_server") == 50);
  CHECK(first.appliedByKind.at("add_real_server") == 100);
  CHECK(first.appliedByKind.at("bind_address") == 50);

  r.upsertSlice(slice("svc7", {"10.244.0.1", "10.244.0.2", "10.244.0.3"}), kNow);
  auto second = r.sync(kNow);
  CHECK_FALSE(second.full);
  CHECK(second.servicesReplanned == 1);
  CHECK(second.operations == 1);
  CHECK(second.appliedByKind == std::map<std::string_view, std::size_t>{{"add_real_server", 1}});
  const auto& rs = kernel.state().virtualServers.at(vsKey("10.96.0.8")).realServers;
  REQUIRE(rs.size() == 3);
  CHECK(rs[2].server.key.address == ip("10.244.0.3"));
}

TEST_CASE("a restart adopts the kernel state: nothing owned is deleted and re-created",
          "[reconciler]") {
  MemoryDataplane kernel;
  {
    Reconciler before(kernel, {node(), std::nullopt, {}});
    before.upsertService(service("web", "10.96.0.10"), kNow);
    before.upsertSlice(slice("web", {"10.244.0.1"}), kNow);
    before.sync(kNow);
  }
  // A foreign virtual server that another tool owns.
  kernel.mutableState().virtualServers[vsKey("192.0.2.1", 443)] = {
      VirtualServer{vsKey("192.0.2.1", 443), "wlc", 0, 0, 32}, {}};
  const KernelState programmed = kernel.state();

  Reconciler after(kernel, {node(), std::nullopt, {}});
  after.upsertService(service("web", "10.96.0.10"), kNow);
  after.upsertSlice(slice("web", {"10.244.0.1"}), kNow);
  auto result = after.sync(kNow);
  CHECK(result.operations == 0);
  CHECK(formatIpvsadmSave(kernel.state()) == formatIpvsadmSave(programmed));
}

TEST_CASE("a full resync repairs drift made by hand", "[reconciler]") {
  MemoryDataplane kernel;
  Reconciler r(kernel, {node(), std::nullopt, {}});
  r.upsertService(service("web", "10.96.0.10"), kNow);
  r.upsertSlice(slice("web", {"10.244.0.1", "10.244.0.2"}), kNow);
  r.sync(kNow);
  const std::string expected = formatIpvsadmSave(kernel.state());

  auto& vs = kernel.mutableState().virtualServers.at(vsKey("10.96.0.10"));
  vs.realServers[0].server.weight = 7;  // a weight changed by hand
  vs.realServers.pop_back();            // a real server deleted by hand
  kernel.mutableState().ipsetEntries.clear();

  CHECK(r.sync(kNow).operations == 0);  // incremental: nothing is dirty
  auto repaired = r.sync(kNow, true);
  CHECK(repaired.operations > 0);
  CHECK(formatIpvsadmSave(kernel.state()) == expected);
  CHECK_FALSE(kernel.state().ipsetEntries.empty());
}

TEST_CASE("a failed operation is retried for its Service only, without a full resync",
          "[reconciler]") {
  MemoryDataplane kernel;
  Reconciler r(kernel, {node(), std::nullopt, {}});
  r.sync(kNow);  // initial full sync of an empty cluster
  kernel.injectErrors([](const Operation& op) {
    return std::holds_alternative<AddRealServer>(op) ? std::make_error_code(std::errc::io_error)
                                                     : std::error_code{};
  });
  r.upsertService(service("web", "10.96.0.10"), kNow);
  r.upsertSlice(slice("web", {"10.244.0.1"}), kNow);
  auto failed = r.sync(kNow);
  REQUIRE(failed.failures.size() == 1);
  CHECK(failed.failures[0].services == std::vector<ObjectKey>{{"ns", "web"}});
  CHECK_FALSE(failed.fullResyncScheduled);
  CHECK(r.nextDue() == kNow + std::chrono::seconds(1));

  kernel.injectErrors(nullptr);
  const auto observes = kernel.observeCalls();
  auto retried = r.sync(kNow + std::chrono::seconds(1));
  CHECK_FALSE(retried.full);
  CHECK(kernel.observeCalls() == observes);
  CHECK(retried.failures.empty());
  CHECK(kernel.state().virtualServers.at(vsKey("10.96.0.10")).realServers.size() == 1);
}

TEST_CASE("a removed TCP endpoint with connections drains at weight 0, then goes", "[reconciler]") {
  MemoryDataplane kernel;
  Reconciler r(kernel, {node(), std::chrono::seconds(300), {}});
  r.upsertService(service("web", "10.96.0.10"), kNow);
  r.upsertSlice(slice("web", {"10.244.0.1", "10.244.0.2"}), kNow);
  const auto t0 = kNow;
  r.sync(t0);
  REQUIRE(kernel.setConnections(vsKey("10.96.0.10"), {ip("10.244.0.2"), 8080}, 3, 1));

  r.upsertSlice(slice("web", {"10.244.0.1"}), t0);
  r.sync(t0);
  const auto& rs = kernel.state().virtualServers.at(vsKey("10.96.0.10")).realServers;
  REQUIRE(rs.size() == 2);
  CHECK(rs[1].server.weight == 0);
  CHECK(r.drainingCount() == 1);

  // Still connected at the next resync: kept. Past the drain limit: deleted anyway.
  r.sync(t0 + std::chrono::seconds(30), true);
  CHECK(kernel.state().virtualServers.at(vsKey("10.96.0.10")).realServers.size() == 2);
  r.sync(t0 + std::chrono::seconds(301), true);
  CHECK(kernel.state().virtualServers.at(vsKey("10.96.0.10")).realServers.size() == 1);
  CHECK(r.drainingCount() == 0);
}

namespace {

// The in-memory kernel, recording the size of each apply call.
class RecordingDataplane final : public Dataplane {
 public:
  Result<KernelState> observe() override { return kernel.observe(); }
  std::unique_ptr<KernelReader> openReader() override { return nullptr; }
  ApplyReport apply(std::span<const Operation> ops) override {
    calls.push_back(ops.size());
    return kernel.apply(ops);
  }
  Result<std::vector<ObservedRealServer>> observeRealServers(const VirtualServerKey& key) override {
    return kernel.observeRealServers(key);
  }

  MemoryDataplane kernel;
  std::vector<std::size_t> calls;
};

}  // namespace

TEST_CASE("a first sync larger than one chunk goes out in chunks and lands whole", "[reconciler]") {
  RecordingDataplane dp;
  // One real server of the last Service fails: its failure is still its own.
  const VirtualServerKey lastVs = vsKey("10.96.2.100");
  dp.kernel.injectErrors([&](const Operation& op) {
    const auto* add = std::get_if<AddRealServer>(&op);
    return add != nullptr && add->virtualServer == lastVs &&
                   add->server.key.address == ip("10.244.0.10")
               ? std::make_error_code(std::errc::no_such_device)
               : std::error_code();
  });
  Reconciler r(dp, {node(), std::nullopt, {}});
  for (int i = 0; i < 600; ++i) {
    const std::string name = "svc" + std::to_string(i);
    const std::string vip = "10.96." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    r.upsertService(service(name, vip.c_str()), kNow);
    r.upsertSlice(
        slice(name, {"10.244.0.1", "10.244.0.2", "10.244.0.3", "10.244.0.4", "10.244.0.5",
                     "10.244.0.6", "10.244.0.7", "10.244.0.8", "10.244.0.9", "10.244.0.10"}),
        kNow);
  }
  const auto first = r.sync(kNow);
  CHECK(first.full);
  // 1,200 ipset entries (KUBE-CLUSTER-IP, KUBE-IPVS-IPS), 600 virtual servers, 6,000 real
  // servers, 600 addresses.
  CHECK(first.operations == 8400);
  CHECK(first.appliedByKind.at("add_real_server") == 5999);
  std::size_t applied = 0;
  for (const std::size_t n : dp.calls) {
    CHECK(n <= 4096 + 11);  // a chunk is cut after the virtual server that fills it
    applied += n;
  }
  CHECK(applied == 8400);
  CHECK(dp.calls.size() > 2);
  // The mirror holds exactly what the kernel acknowledged.
  CHECK(formatIpvsadmSave(r.observed()) == formatIpvsadmSave(dp.kernel.state()));
  CHECK(dp.kernel.state().virtualServers.size() == 600);
  CHECK(dp.kernel.state().boundAddresses.size() == 600);
  REQUIRE(first.failures.size() == 1);
  CHECK(first.failures[0].services == std::vector<ObjectKey>{{"ns", "svc599"}});
}
