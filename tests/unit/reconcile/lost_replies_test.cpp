// Lost netlink replies (ENOBUFS on the receive queue, a reply timeout): the kernel may or may
// not have done the work, so the reconciler must not trust its mirror; it schedules a full
// resync, which re-reads the kernel and converges. The agent's own batches cannot overrun the
// receive queue (NetlinkSocket::safeBatchMessages bounds them by SO_RCVBUF); a dataplane that
// loses replies shows it here, also with the work itself lost (a kernel ENOBUFS drops only ACKs).
// kernel.ipvs.netlink provokes a real ENOBUFS with a test-only option (docs/reliability.md).

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ipvs/ipvsadm_format.h"
#include "ipvs/memory_dataplane.h"
#include "reconcile/reconciler.h"

using namespace ipvs;
using namespace std::chrono_literals;
using reconcile::Reconciler;

namespace {

const Clock::TimePoint kT0 = Clock::TimePoint{} + std::chrono::hours(1);

// Loses the replies of the second half of the next apply: every operation reaches the kernel
// (`applied`) or none of that half does, and that half is reported as ENOBUFS.
class LossyDataplane final : public Dataplane {
 public:
  explicit LossyDataplane(bool applied) : applied_(applied) {}
  Result<KernelState> observe() override { return kernel.observe(); }
  Result<std::vector<ObservedRealServer>> observeRealServers(const VirtualServerKey& k) override {
    return kernel.observeRealServers(k);
  }
  ApplyReport apply(std::span<const Operation> ops) override {
    if (!loseNext || ops.size() < 2) return kernel.apply(ops);
    loseNext = false;
    const std::size_t half = ops.size() / 2;
    ApplyReport report = kernel.apply(applied_ ? ops : ops.first(half));
    report.results.resize(ops.size());
    for (std::size_t i = half; i < ops.size(); ++i)
      report.results[i] = std::make_error_code(std::errc::no_buffer_space);
    report.failed = ops.size() - half;
    report.stateUncertain = true;
    return report;
  }

  MemoryDataplane kernel;
  bool loseNext = false;

 private:
  bool applied_;
};

Service service(int i) {
  Service svc;
  svc.key = {"bulk", "s" + std::to_string(i)};
  svc.clusterIPs = {*IpAddress::parse("10.96.1." + std::to_string(i + 1))};
  svc.ipFamilies = {Family::kV4};
  svc.ports = {{"http", Protocol::kTcp, 80, 0, "8080"}};
  return svc;
}

EndpointSlice slice(int i, int endpoints) {
  EndpointSlice s;
  s.key = {"bulk", "s" + std::to_string(i) + "-x"};
  s.serviceName = "s" + std::to_string(i);
  s.ports = {{"http", Protocol::kTcp, 8080}};
  for (int e = 0; e < endpoints; ++e) {
    Endpoint ep;
    ep.address = *IpAddress::parse("10.244.5." + std::to_string(e + 1));
    ep.nodeName = "other";
    s.endpoints.push_back(ep);
  }
  return s;
}

Reconciler::Options options() {
  NodeContext n;
  n.nodeName = "node-a";
  n.families = {Family::kV4};
  reconcile::RetryPolicy retry;
  retry.max = 30s;
  return {n, std::nullopt, retry};
}

void load(Reconciler& r, int endpoints, Clock::TimePoint at) {
  for (int i = 0; i < 40; ++i) {
    r.upsertService(service(i), at);
    r.upsertSlice(slice(i, endpoints), at);
  }
}

// What a clean run with the same inputs leaves in the kernel.
std::string reference(int endpoints) {
  MemoryDataplane clean;
  Reconciler r(clean, options());
  load(r, endpoints, kT0);
  (void)r.sync(kT0);
  return formatIpvsadmSave(clean.state()) + formatIpsetSave(clean.state().ipsetEntries);
}

std::string text(const MemoryDataplane& k) {
  return formatIpvsadmSave(k.state()) + formatIpsetSave(k.state().ipsetEntries);
}

}  // namespace

TEST_CASE("lost replies: a full resync re-reads the kernel and converges", "[reconcile][enobufs]") {
  const bool applied = GENERATE(true, false);
  INFO((applied ? "the kernel did the unacknowledged work" : "the kernel lost it"));
  LossyDataplane dp(applied);
  Reconciler r(dp, options());
  load(r, 1, kT0);
  REQUIRE(r.sync(kT0).failures.empty());
  REQUIRE(text(dp.kernel) == reference(1));

  // Every Service gains a second endpoint; half the replies of that batch are lost.
  dp.loseNext = true;
  load(r, 2, kT0 + 1s);
  const auto lossy = r.sync(kT0 + 1s);
  CHECK(lossy.fullResyncScheduled);
  CHECK_FALSE(lossy.failures.empty());
  const std::size_t observesBefore = dp.kernel.observeCalls();

  // The scheduled full resync comes within the sync period, re-reads the kernel, and after it
  // the kernel holds exactly what a clean run gives.
  auto t = kT0 + 1s;
  bool full = false;
  for (int i = 0; i < 60 && !full; ++i) {
    t += 1s;
    full = r.sync(t).full;
  }
  REQUIRE(full);
  CHECK(dp.kernel.observeCalls() > observesBefore);
  CHECK(text(dp.kernel) == reference(2));
  const auto after = r.sync(t + 1s);
  CHECK(after.failures.empty());
  CHECK(after.operations == 0);
}
