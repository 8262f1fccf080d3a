// HostRules' drift repair: a full resync's forced restore of unchanged rules runs on HostRules'
// worker, never on the sync thread; runner calls are serialized, a repair never restores older
// rules over newer ones, and a failed repair is reported by the next sync, which restores.
#include "reconcile/host_rules.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "ipvs/iptables_port.h"
#include "ipvs/memory_dataplane.h"
#include "reconcile/change_queue.h"
#include "reconcile/sync_loop.h"
#include "tests/unit/reconcile/fixtures.h"

using namespace std::chrono_literals;
using namespace reconcile::test;

namespace {

// Only to end a broken test instead of hanging it; no check depends on how long anything takes.
constexpr auto kHangGuard = 20s;

// An IptablesPort whose next sync() can be held in the runner until release(), or fail.
class GatedIptables final : public ipvs::IptablesPort {
 public:
  ipvs::Result<void> sync(const ipvs::IptablesRuleInputs& in) override {
    std::unique_lock lock(mutex_);
    maxInFlight_ = std::max(maxInFlight_, ++inFlight_);
    if (std::exchange(blockNext_, false)) {
      blocked_ = true;
      changed_.notify_all();
      // Let go after the guard if the test never releases (e.g. sync() itself is held here).
      changed_.wait_for(lock, kHangGuard, [this] { return released_; });
      blocked_ = released_ = false;
    }
    --inFlight_;
    restores_.push_back(in);
    changed_.notify_all();
    if (std::exchange(failNext_, false)) return std::make_error_code(std::errc::io_error);
    return {};
  }
  ipvs::Result<void> cleanup(ipvs::Family, ipvs::CleanupScope) override { return {}; }
  ipvs::Result<bool> supportsRandomFully() override { return false; }

  void blockNext() {
    std::lock_guard lock(mutex_);
    blockNext_ = true;
  }
  void failNext() {
    std::lock_guard lock(mutex_);
    failNext_ = true;
  }
  // Waits until a sync() is held in the runner.
  bool waitBlocked() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kHangGuard, [this] { return blocked_; });
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    changed_.notify_all();
  }
  std::vector<ipvs::IptablesRuleInputs> restores() {
    std::lock_guard lock(mutex_);
    return restores_;
  }
  int maxInFlight() {
    std::lock_guard lock(mutex_);
    return maxInFlight_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool blockNext_ = false;
  bool failNext_ = false;
  bool blocked_ = false;
  bool released_ = false;
  int inFlight_ = 0;
  int maxInFlight_ = 0;
  std::vector<ipvs::IptablesRuleInputs> restores_;
};

// Kernel states whose rendered rules differ: A has no ClusterIP, B has one.
ipvs::KernelState stateA() { return {}; }
ipvs::KernelState stateB() {
  ipvs::KernelState k;
  k.ipsetEntries.insert({ipvs::IpsetId::kClusterIP, ipvs::Family::kV4, "10.96.0.10,tcp:80"});
  return k;
}
bool isB(const ipvs::IptablesRuleInputs& in) {
  return in.nonEmpty[static_cast<std::size_t>(ipvs::IpsetId::kClusterIP)];
}

struct Fixture {
  // Opens the gate before HostRules' destructor joins the worker, so a failed check never
  // leaves a repair held in the runner forever.
  ~Fixture() { iptables.release(); }
  ipvs::Result<void> sync(const ipvs::KernelState& kernel, bool force) {
    return rules.sync(kernel, {}, force);
  }
  GatedIptables iptables;
  reconcile::HostRules rules{iptables, {{ipvs::Family::kV4}, false, 14}};
};

}  // namespace

TEST_CASE("host rules: a forced sync of unchanged rules returns while the repair is in the runner",
          "[host_rules]") {
  Fixture f;
  // The first restore is synchronous even when forced: the chains exist when sync() returns.
  REQUIRE(f.sync(stateA(), true));
  REQUIRE(f.iptables.restores().size() == 1);

  f.iptables.blockNext();
  CHECK(f.sync(stateA(), true));
  REQUIRE(f.iptables.waitBlocked());  // the repair is held in the runner; sync() has returned
  CHECK(f.iptables.restores().size() == 1);
  // More forced syncs while it runs are coalesced into one queued repair; an unforced sync of
  // unchanged rules does not touch the runner.
  CHECK(f.sync(stateA(), true));
  CHECK(f.sync(stateA(), true));
  CHECK(f.sync(stateA(), false));

  f.iptables.release();
  f.rules.waitForRepair();
  const auto restores = f.iptables.restores();
  CHECK(restores.size() == 3);  // the first, the held repair, the one queued behind it
  for (const auto& in : restores) CHECK_FALSE(isB(in));
  CHECK(f.iptables.maxInFlight() == 1);
}

TEST_CASE("host rules: changed rules wait for a running repair, which never restores older ones",
          "[host_rules]") {
  Fixture f;
  REQUIRE(f.sync(stateA(), true));

  f.iptables.blockNext();
  REQUIRE(f.sync(stateA(), true));  // repair of A, held
  REQUIRE(f.iptables.waitBlocked());
  REQUIRE(f.sync(stateA(), true));  // a second repair, queued behind it

  // The rules change to B while the repair of A is held: that restore waits for the runner.
  std::mutex m;
  std::condition_variable cv;
  bool started = false;
  ipvs::Result<void> resultB;
  std::thread sync([&] {
    {
      std::lock_guard lock(m);
      started = true;
    }
    cv.notify_all();
    resultB = f.sync(stateB(), false);
  });
  {
    std::unique_lock lock(m);
    REQUIRE(cv.wait_for(lock, kHangGuard, [&] { return started; }));
  }
  // Lets the thread reach the runner's mutex before the release, so the usual run covers the
  // contended case; every check below holds whatever the interleaving.
  std::this_thread::sleep_for(50ms);
  CHECK(f.iptables.restores().size() == 1);  // B did not go out beside the held repair
  f.iptables.release();
  sync.join();
  CHECK(resultB);

  // The queued repair, and one more after B: each restores the newest applied rules.
  REQUIRE(f.sync(stateB(), true));
  f.rules.waitForRepair();
  const auto restores = f.iptables.restores();
  REQUIRE(restores.size() >= 4);
  CHECK(isB(restores.back()));
  bool seenB = false;
  for (const auto& in : restores) {
    if (isB(in)) seenB = true;
    CHECK_FALSE((seenB && !isB(in)));  // never A after B
  }
  CHECK(f.iptables.maxInFlight() == 1);
}

TEST_CASE("host rules: a failed repair is the next sync's error, and that sync restores",
          "[host_rules]") {
  Fixture f;
  REQUIRE(f.sync(stateA(), true));

  f.iptables.failNext();
  CHECK(f.sync(stateA(), true));  // the repair fails on the worker
  f.rules.waitForRepair();
  REQUIRE(f.iptables.restores().size() == 2);

  const auto next = f.sync(stateA(), false);
  REQUIRE_FALSE(next);
  CHECK(next.error() == std::errc::io_error);
  CHECK(f.iptables.restores().size() == 3);  // restored at that sync, on its thread

  CHECK(f.sync(stateA(), false));  // reported once, nothing left to restore
  CHECK(f.iptables.restores().size() == 3);
}

namespace {
struct KeepErrors final : reconcile::SyncObserver {
  void changesQueued(std::size_t, std::size_t) override {}
  void synced(const reconcile::SyncReport& report) override {
    errors.push_back(report.hostRulesError);
  }
  std::vector<std::optional<std::error_code>> errors;
};
}  // namespace

TEST_CASE(
    "host rules: a full resync's sync returns while its repair is held, and a failure reaches "
    "the next SyncReport",
    "[host_rules]") {
  ipvs::ManualClock clock;
  ipvs::MemoryDataplane kernel;
  reconcile::Reconciler r(kernel, options(1h));
  reconcile::ChangeQueue queue(clock);
  KeepErrors observer;
  Fixture f;
  reconcile::SyncLoop loop(r, queue, observer, &f.rules, clock, {});
  queue.serviceUpdated(service("web", "10.96.0.10"));
  queue.sliceUpdated(slice("web", {"10.244.0.1"}));
  loop.syncOnce(true);
  REQUIRE(f.iptables.restores().size() == 1);

  f.iptables.blockNext();
  f.iptables.failNext();
  loop.syncOnce(true);
  REQUIRE(f.iptables.waitBlocked());  // syncOnce returned with the repair held in the runner
  CHECK(f.iptables.restores().size() == 1);
  f.iptables.release();
  f.rules.waitForRepair();
  REQUIRE(f.iptables.restores().size() == 2);

  loop.syncOnce(false);
  REQUIRE(observer.errors.size() == 3);
  CHECK_FALSE(observer.errors[0]);
  CHECK_FALSE(observer.errors[1]);
  CHECK(observer.errors[2] == std::make_error_code(std::errc::io_error));
  CHECK(f.iptables.restores().size() == 3);
}
