// Failures are contained: one Service whose scheduler the kernel lacks is retried on its own
// backoff (1 s, 2 s, 4 s... capped at the sync period), while the others are applied at once.
// MemoryDataplane stands in for the kernel and the time is passed by hand (no wall clock).

#include <catch2/catch.hpp>

#include "ipvs/memory_dataplane.h"
#include "reconcile/reconciler.h"
#include "tests/unit/reconcile/fixtures.h"

using namespace ipvs;
using namespace std::chrono_literals;
using reconcile::Reconciler;
using reconcile::ServiceEvent;
using reconcile::SyncState;
using namespace reconcile::test;

namespace {

const Clock::TimePoint kT0 = Clock::TimePoint{} + std::chrono::hours(1);

// A bad Service (scheduler `twos`, which this kernel lacks) and a good one, synced once at kT0.
struct Fixture {
  MemoryDataplane kernel;
  Reconciler r{kernel, options(30s)};
  Fixture() {
    kernel.rejectScheduler("twos");
    r.upsertService(service("bad", "10.96.0.1", "twos"), kT0);
    r.upsertSlice(slice("bad", {"10.244.0.1"}), kT0);
    r.upsertService(service("good", "10.96.0.2"), kT0);
    r.upsertSlice(slice("good", {"10.244.0.2"}), kT0);
  }
};

}  // namespace

TEST_CASE("a failing Service is retried at 1 s, doubling, capped at the sync period",
          "[reconcile][containment]") {
  Fixture f;
  auto first = f.r.sync(kT0);
  CHECK(first.full);
  CHECK(realServers(f.kernel, "10.96.0.2") == 1);  // the good one is programmed regardless
  REQUIRE(first.serviceEvents.size() == 1);
  CHECK(first.serviceEvents[0].kind == ServiceEvent::Kind::kFailing);
  CHECK(first.serviceEvents[0].service == ObjectKey{"ns", "bad"});
  CHECK(first.failingServices == 1);
  CHECK(first.state == SyncState::kSyncing);
  CHECK_FALSE(first.fullResyncScheduled);

  std::vector<Clock::Duration> delays;
  auto t = kT0;
  for (int i = 0; i < 7; ++i) {
    const auto due = f.r.nextDue();
    REQUIRE(due);
    delays.push_back(*due - t);
    t = *due;
    CHECK(f.r.sync(t - 1ms).operations == 0);  // not due yet: nothing is tried
    auto retry = f.r.sync(t);
    CHECK_FALSE(retry.full);
    CHECK(retry.failures.size() >= 1);
    CHECK(retry.serviceEvents.empty());  // one log line per state change, not per attempt
  }
  const std::vector<Clock::Duration> expected{1s, 2s, 4s, 8s, 16s, 30s, 30s};
  CHECK(delays == expected);
  CHECK(f.kernel.observeCalls() == 1);  // only the first, full sync read the kernel
}

TEST_CASE("other Services are applied at once while one is failing", "[reconcile][containment]") {
  Fixture f;
  f.r.sync(kT0);
  f.r.upsertSlice(slice("good", {"10.244.0.2", "10.244.0.3"}), kT0 + 100ms);
  auto next = f.r.sync(kT0 + 100ms);
  CHECK(next.replanned == std::vector<ObjectKey>{{"ns", "good"}});
  CHECK(next.failures.empty());
  CHECK(realServers(f.kernel, "10.96.0.2") == 2);
  CHECK(next.failingServices == 1);
}

TEST_CASE("a fixed Service recovers at once, and a change resets its backoff",
          "[reconcile][containment]") {
  Fixture f;
  f.r.sync(kT0);
  f.r.sync(kT0 + 1s);  // second failure: the next retry is 2 s later
  CHECK(f.r.nextDue() == kT0 + 3s);

  // An unrelated edit that still fails: due at once, then 1 s again (backoff reset).
  f.r.upsertSlice(slice("bad", {"10.244.0.1", "10.244.0.9"}), kT0 + 1500ms);
  CHECK(f.r.nextDue() == kT0 + 1500ms);
  f.r.sync(kT0 + 1500ms);
  CHECK(f.r.nextDue() == kT0 + 2500ms);

  // The annotation is fixed: programmed in the same sync, and reported as recovered.
  f.r.upsertService(service("bad", "10.96.0.1", "rr"), kT0 + 2s);
  auto fixed = f.r.sync(kT0 + 2s);
  CHECK(fixed.failures.empty());
  CHECK(realServers(f.kernel, "10.96.0.1") == 2);
  REQUIRE(fixed.serviceEvents.size() == 1);
  CHECK(fixed.serviceEvents[0].kind == ServiceEvent::Kind::kRecovered);
  CHECK(fixed.serviceEvents[0].attempts == 3);
  CHECK(fixed.state == SyncState::kSynced);
  CHECK_FALSE(f.r.nextDue());
}

TEST_CASE("a long failure is summarised every few minutes, not logged per attempt",
          "[reconcile][containment]") {
  Fixture f;
  f.r.sync(kT0);
  std::size_t summaries = 0;
  while (*f.r.nextDue() < kT0 + 11min) {
    for (const auto& e : f.r.sync(*f.r.nextDue()).serviceEvents) {
      CHECK(e.kind == ServiceEvent::Kind::kStillFailing);
      CHECK(e.since == kT0);
      ++summaries;
    }
  }
  CHECK(summaries == 2);  // at about 5 and 10 minutes
}

TEST_CASE("a failed dump schedules a full resync with its own backoff",
          "[reconcile][containment]") {
  MemoryDataplane kernel;
  Reconciler r(kernel, options(30s));
  kernel.failObserve(std::make_error_code(std::errc::no_buffer_space));
  r.upsertService(service("web", "10.96.0.2"), kT0);
  r.upsertSlice(slice("web", {"10.244.0.2"}), kT0);
  auto first = r.sync(kT0);
  CHECK(first.observeFailed);
  CHECK(first.fullResyncScheduled);
  CHECK(first.state == SyncState::kAwaiting);
  CHECK(realServers(kernel, "10.96.0.2") == 1);  // the change still went out
  CHECK(r.nextDue() == kT0 + 1s);
  r.sync(kT0 + 1s);
  CHECK(r.nextDue() == kT0 + 3s);
  CHECK(kernel.observeCalls() == 2);

  kernel.failObserve({});
  auto ok = r.sync(kT0 + 3s);
  CHECK(ok.full);
  CHECK(ok.state == SyncState::kSynced);
  CHECK_FALSE(r.nextDue());
}
