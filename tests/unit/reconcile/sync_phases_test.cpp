// The per-phase timing of a sync: each phase gets exactly the time its kernel work took on the
// injected clock, and the phases add up to the sync's duration.
#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <vector>

#include "ipvs/iptables_port.h"
#include "ipvs/memory_dataplane.h"
#include "reconcile/change_queue.h"
#include "reconcile/host_rules.h"
#include "reconcile/sync_loop.h"
#include "tests/unit/reconcile/fixtures.h"

using namespace std::chrono_literals;
using ipvs::ManualClock;
using reconcile::SyncPhase;
using namespace reconcile::test;

namespace {

// Kernel work that takes time: each call moves the clock by a cost per kind, so a phase that
// is charged the wrong calls, or none, shows it.
constexpr auto kObserveCost = 5ms;
constexpr auto kIpvsCost = 1ms;
constexpr auto kIpsetCost = 10ms;
constexpr auto kAddressCost = 100ms;
constexpr auto kIptablesCost = 1000ms;

class SlowDataplane final : public ipvs::Dataplane {
 public:
  explicit SlowDataplane(ManualClock& clock) : clock_(clock) {}

  ipvs::Result<ipvs::KernelState> observe() override {
    clock_.advance(kObserveCost);
    return memory_.observe();
  }
  ipvs::ApplyReport apply(std::span<const ipvs::Operation> ops) override {
    for (const auto& op : ops) {
      if (std::holds_alternative<ipvs::AddIpsetEntry>(op) ||
          std::holds_alternative<ipvs::DeleteIpsetEntry>(op)) {
        clock_.advance(kIpsetCost);
        ++ipsetOps;
      } else if (std::holds_alternative<ipvs::BindAddress>(op) ||
                 std::holds_alternative<ipvs::UnbindAddress>(op)) {
        clock_.advance(kAddressCost);
        ++addressOps;
      } else {
        clock_.advance(kIpvsCost);
        ++ipvsOps;
      }
    }
    return memory_.apply(ops);
  }

  ipvs::MemoryDataplane memory_;
  int ipvsOps = 0;
  int ipsetOps = 0;
  int addressOps = 0;

 private:
  ManualClock& clock_;
};

class SlowIptables final : public ipvs::IptablesPort {
 public:
  explicit SlowIptables(ManualClock& clock) : clock_(clock) {}
  ipvs::Result<void> sync(const ipvs::IptablesRuleInputs&) override {
    clock_.advance(kIptablesCost);
    ++restores;
    return {};
  }
  ipvs::Result<void> cleanup(ipvs::Family, ipvs::CleanupScope) override { return {}; }
  ipvs::Result<bool> supportsRandomFully() override { return true; }
  int restores = 0;

 private:
  ManualClock& clock_;
};

struct KeepReports final : reconcile::SyncObserver {
  void changesQueued(std::size_t, std::size_t) override {}
  void synced(const reconcile::SyncReport& report) override {
    phases.push_back(report.phases);
    durations.push_back(report.finished - report.started);
    first.push_back(report.first);
  }
  std::vector<reconcile::PhaseTimes> phases;
  std::vector<ipvs::Clock::Duration> durations;
  std::vector<bool> first;
};

ipvs::Clock::Duration sumInSync(const reconcile::PhaseTimes& p) {
  ipvs::Clock::Duration sum{};
  for (std::size_t i = 0; i < reconcile::kSyncPhaseCount; ++i) {
    const auto phase = static_cast<SyncPhase>(i);
    if (phase != SyncPhase::kStart && phase != SyncPhase::kList && phase != SyncPhase::kWait)
      sum += p[phase];
  }
  return sum;
}

}  // namespace

TEST_CASE(
    "sync phases: each phase of a sync is charged its own kernel work, and they sum to the "
    "duration",
    "[reconciler][phases]") {
  ManualClock clock;
  SlowDataplane kernel(clock);
  SlowIptables iptables(clock);
  reconcile::HostRules rules(iptables, {{ipvs::Family::kV4}, false, 14});
  reconcile::Reconciler r(kernel, options(1h));
  reconcile::ChangeQueue queue(clock);
  KeepReports observer;
  reconcile::SyncLoop loop(r, queue, observer, &rules, clock, {});

  queue.serviceUpdated(service("web", "10.96.0.10"));
  queue.sliceUpdated(slice("web", {"10.244.0.1", "10.244.0.2"}));
  loop.syncOnce(true);

  REQUIRE(observer.phases.size() == 1);
  const auto& p = observer.phases[0];
  REQUIRE(kernel.ipvsOps > 0);
  REQUIRE(kernel.ipsetOps > 0);
  REQUIRE(kernel.addressOps > 0);
  REQUIRE(iptables.restores > 0);
  CHECK(p[SyncPhase::kObserve] == kObserveCost);
  CHECK(p[SyncPhase::kIpvs] == kernel.ipvsOps * kIpvsCost);
  CHECK(p[SyncPhase::kIpsets] == kernel.ipsetOps * kIpsetCost);
  CHECK(p[SyncPhase::kAddresses] == kernel.addressOps * kAddressCost);
  CHECK(p[SyncPhase::kIptables] == iptables.restores * kIptablesCost);
  CHECK(p[SyncPhase::kPlan] == 0ms);  // translation and diff take no time on this clock
  CHECK(p.inSync() == observer.durations[0]);
  CHECK(sumInSync(p) == observer.durations[0]);
  CHECK(observer.first[0]);
  // syncOnce() without run(): no start, list or wait was measured.
  CHECK(p[SyncPhase::kStart] == 0ms);
  CHECK(p[SyncPhase::kList] == 0ms);
  CHECK(p[SyncPhase::kWait] == 0ms);
}

TEST_CASE("sync phases: an endpoint change is timed as IPVS work only, and is not the first sync",
          "[reconciler][phases]") {
  ManualClock clock;
  SlowDataplane kernel(clock);
  reconcile::Reconciler r(kernel, options(1h));
  reconcile::ChangeQueue queue(clock);
  KeepReports observer;
  reconcile::SyncLoop loop(r, queue, observer, nullptr, clock, {});
  queue.serviceUpdated(service("web", "10.96.0.10"));
  queue.sliceUpdated(slice("web", {"10.244.0.1"}));
  loop.syncOnce(true);

  const int ipvsBefore = kernel.ipvsOps;
  queue.sliceUpdated(slice("web", {"10.244.0.1", "10.244.0.2"}));
  loop.syncOnce(false);

  REQUIRE(observer.phases.size() == 2);
  const auto& p = observer.phases[1];
  CHECK_FALSE(observer.first[1]);
  CHECK(kernel.ipvsOps == ipvsBefore + 1);
  CHECK(p[SyncPhase::kIpvs] == kIpvsCost);
  CHECK(p[SyncPhase::kObserve] == 0ms);  // no dump in an incremental sync
  CHECK(p[SyncPhase::kIpsets] == 0ms);
  CHECK(p[SyncPhase::kAddresses] == 0ms);
  CHECK(observer.durations[1] == kIpvsCost);
  CHECK(sumInSync(p) == observer.durations[1]);
}
