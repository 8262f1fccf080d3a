// The reconciler's UDP conntrack cleanup (Reconciler::setConntrack): after a sync it asks the
// port to delete exactly the entries kube-proxy would, only for UDP, and a port failure is
// reported per Service without failing the sync.

#include <catch2/catch.hpp>

#include "ipvs/memory_dataplane.h"
#include "reconcile/reconciler.h"
#include "tests/unit/reconcile/fixtures.h"

using namespace ipvs;
using reconcile::Clock;
using reconcile::Reconciler;
using reconcile::SyncResult;
using reconcile::test::ip;

namespace {

const Clock::TimePoint kNow = Clock::TimePoint{} + std::chrono::hours(1);

// Records every call; fails them all once `error` is set.
class RecordingConntrack final : public ConntrackPort {
 public:
  Result<std::size_t> deleteEntries(std::span<const ConntrackFilter> filters) override {
    calls.emplace_back(filters.begin(), filters.end());
    if (error) return error;
    return filters.size();
  }
  std::vector<std::vector<ConntrackFilter>> calls;
  std::error_code error;
};

Service dnsService(Protocol proto = Protocol::kUdp) {
  Service svc;
  svc.key = {"kube-system", "dns"};
  svc.clusterIPs = {ip("10.96.0.10")};
  svc.ipFamilies = {Family::kV4};
  svc.ports = {{"dns", proto, 53, 0, "53"}};
  return svc;
}

EndpointSlice dnsSlice(std::vector<const char*> addresses, Protocol proto = Protocol::kUdp) {
  EndpointSlice s;
  s.key = {"kube-system", "dns-abc"};
  s.serviceName = "dns";
  s.ports = {{"dns", proto, 53}};
  for (const char* a : addresses) {
    Endpoint e;
    e.address = ip(a);
    e.nodeName = "other";
    s.endpoints.push_back(e);
  }
  return s;
}

Reconciler::Options options() { return {reconcile::test::node(), std::nullopt, {}}; }

// A reconciler over MemoryDataplane with a recording conntrack port.
struct Harness {
  MemoryDataplane kernel;
  RecordingConntrack ct;
  Reconciler r{kernel, options()};
  Harness() { r.setConntrack(&ct); }
  // The DNS Service with endpoints 10.244.1.1 and .2, programmed by a full sync.
  SyncResult programDns(Protocol proto = Protocol::kUdp) {
    r.upsertService(dnsService(proto), kNow);
    r.upsertSlice(dnsSlice({"10.244.1.1", "10.244.1.2"}, proto), kNow);
    return r.sync(kNow, true);
  }
};

ConntrackFilter toBackend(const char* backend) {
  return {Protocol::kUdp, ip("10.96.0.10"), 53, RealServerKey{ip(backend), 53}};
}

}  // namespace

TEST_CASE("conntrack: a removed UDP endpoint's conntrack entries are deleted after the sync",
          "[reconciler][conntrack]") {
  Harness h;
  auto& [kernel, ct, r] = h;
  auto first = h.programDns();
  // A new Service with endpoints is "newly active": entries to its ClusterIP:port go.
  REQUIRE(ct.calls.size() == 1);
  CHECK(ct.calls[0] == std::vector<ConntrackFilter>{{Protocol::kUdp, ip("10.96.0.10"), 53, {}}});
  CHECK(first.conntrackDeleted == 1);

  r.upsertSlice(dnsSlice({"10.244.1.2"}), kNow);
  auto second = r.sync(kNow);
  REQUIRE(ct.calls.size() == 2);
  CHECK(ct.calls[1] == std::vector<ConntrackFilter>{toBackend("10.244.1.1")});
  CHECK_FALSE(second.conntrackFailure);

  SECTION("an unrelated change asks for nothing") {
    r.upsertSlice(dnsSlice({"10.244.1.2", "10.244.1.3"}), kNow);
    (void)r.sync(kNow);
    CHECK(ct.calls.size() == 2);
  }
  SECTION("deleting the Service flushes its last endpoint") {
    r.deleteService(dnsService().key, kNow);
    (void)r.sync(kNow);
    REQUIRE(ct.calls.size() == 3);
    CHECK(ct.calls[2] == std::vector<ConntrackFilter>{toBackend("10.244.1.2")});
  }
}

TEST_CASE("conntrack: one call per sync covers every changed UDP Service",
          "[reconciler][conntrack]") {
  Harness h;
  auto& [kernel, ct, r] = h;
  r.upsertService(dnsService(), kNow);
  r.upsertSlice(dnsSlice({"10.244.1.1", "10.244.1.2"}), kNow);
  Service other = dnsService();
  other.key.name = "dns2";
  other.clusterIPs = {ip("10.96.0.11")};
  EndpointSlice otherSlice = dnsSlice({"10.244.2.1"});
  otherSlice.key.name = "dns2-abc";
  otherSlice.serviceName = "dns2";
  r.upsertService(other, kNow);
  r.upsertSlice(otherSlice, kNow);
  (void)r.sync(kNow, true);
  REQUIRE(ct.calls.size() == 1);
  CHECK(ct.calls[0] == std::vector<ConntrackFilter>{{Protocol::kUdp, ip("10.96.0.10"), 53, {}},
                                                    {Protocol::kUdp, ip("10.96.0.11"), 53, {}}});
  r.upsertSlice(dnsSlice({"10.244.1.2"}), kNow);
  otherSlice.endpoints.clear();
  r.upsertSlice(otherSlice, kNow);
  ct.error = std::make_error_code(std::errc::operation_not_permitted);
  auto result = r.sync(kNow);
  REQUIRE(ct.calls.size() == 2);
  CHECK(ct.calls[1] == std::vector<ConntrackFilter>{toBackend("10.244.1.1"),
                                                    {Protocol::kUdp, ip("10.96.0.11"), 53,
                                                     RealServerKey{ip("10.244.2.1"), 53}}});
  REQUIRE(result.conntrackFailure);
  CHECK(result.conntrackFailure->services == std::vector<ObjectKey>{dnsService().key, other.key});
}

TEST_CASE("conntrack: a restart that adopts the kernel's UDP real servers flushes nothing",
          "[reconciler][conntrack]") {
  MemoryDataplane kernel;
  {
    Reconciler before(kernel, options());
    before.upsertService(dnsService(), kNow);
    before.upsertSlice(dnsSlice({"10.244.1.1"}), kNow);
    (void)before.sync(kNow, true);
  }
  RecordingConntrack ct;
  Reconciler r(kernel, options());
  r.setConntrack(&ct);
  r.upsertService(dnsService(), kNow);
  r.upsertSlice(dnsSlice({"10.244.1.1"}), kNow);
  (void)r.sync(kNow, true);
  CHECK(ct.calls.empty());
}

TEST_CASE("conntrack: TCP endpoints never reach the conntrack port", "[reconciler][conntrack]") {
  Harness h;
  auto& [kernel, ct, r] = h;
  (void)h.programDns(Protocol::kTcp);
  r.upsertSlice(dnsSlice({"10.244.1.2"}, Protocol::kTcp), kNow);
  (void)r.sync(kNow);
  CHECK(ct.calls.empty());
}

TEST_CASE("conntrack: a conntrack failure is reported for its Service and does not fail the sync",
          "[reconciler][conntrack]") {
  Harness h;
  auto& [kernel, ct, r] = h;
  (void)h.programDns();
  ct.error = std::make_error_code(std::errc::operation_not_permitted);
  r.upsertSlice(dnsSlice({"10.244.1.2"}), kNow);
  auto result = r.sync(kNow);
  REQUIRE(result.conntrackFailure);
  CHECK(result.conntrackFailure->services == std::vector<ObjectKey>{dnsService().key});
  CHECK(result.conntrackFailure->error == std::errc::operation_not_permitted);
  CHECK(result.failures.empty());
  CHECK(result.failingServices == 0);
  CHECK_FALSE(result.fullResyncScheduled);
  // The IPVS side went through all the same.
  const auto& vs = kernel.state().virtualServers.at({ip("10.96.0.10"), Protocol::kUdp, 53, 0});
  REQUIRE(vs.realServers.size() == 1);
  CHECK(vs.realServers[0].server.key.address == ip("10.244.1.2"));
}

TEST_CASE("conntrack: a real server the kernel refused to delete is flushed once it is gone",
          "[reconciler][conntrack]") {
  Harness h;
  auto& [kernel, ct, r] = h;
  (void)h.programDns();
  kernel.injectErrors([](const Operation& op) {
    return std::holds_alternative<DeleteRealServer>(op)
               ? std::make_error_code(std::errc::device_or_resource_busy)
               : std::error_code{};
  });
  r.upsertSlice(dnsSlice({"10.244.1.2"}), kNow);
  auto failed = r.sync(kNow);
  CHECK(failed.failures.size() == 1);
  CHECK(ct.calls.size() == 1);  // the backend still answers: its entries are not stale yet
  kernel.injectErrors({});
  auto retried = r.sync(kNow + std::chrono::minutes(5));
  CHECK(retried.failures.empty());
  REQUIRE(ct.calls.size() == 2);
  CHECK(ct.calls[1] == std::vector<ConntrackFilter>{toBackend("10.244.1.1")});
}
