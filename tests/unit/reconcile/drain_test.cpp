// Drains on their own timer: a weight-0 real server is re-checked every kDrainCheckInterval,
// whatever the sync period, by reading only the virtual servers that have drains. The kernel
// is MemoryDataplane and time moves only by hand (ManualClock).

#include <catch2/catch.hpp>

#include "ipvs/memory_dataplane.h"
#include "reconcile/reconciler.h"
#include "reconcile/sync_loop.h"
#include "tests/unit/reconcile/fixtures.h"

using namespace ipvs;
using namespace std::chrono_literals;
using reconcile::kDrainCheckInterval;
using reconcile::Reconciler;
using reconcile::SyncState;
using namespace reconcile::test;

namespace {

// Three Services with two endpoints each, fully synced; then "web" loses 10.244.0.2 while that
// backend still has connections, so it drains at weight 0.
struct Fixture {
  explicit Fixture(std::optional<std::chrono::seconds> drainLimit = std::nullopt)
      : r(kernel, options(1h, drainLimit)) {
    const auto now = clock.now();
    r.upsertService(service("web", "10.96.0.10"), now);
    r.upsertSlice(slice("web", {"10.244.0.1", "10.244.0.2"}), now);
    r.upsertService(service("api", "10.96.0.20"), now);
    r.upsertSlice(slice("api", {"10.244.1.1", "10.244.1.2"}), now);
    r.upsertService(service("db", "10.96.0.30"), now);
    r.upsertSlice(slice("db", {"10.244.2.1", "10.244.2.2"}), now);
    REQUIRE(r.sync(now, true).full);
    REQUIRE(kernel.setConnections(vsKey("10.96.0.10"), {ip("10.244.0.2"), 8080}, 2, 1));
    r.upsertSlice(slice("web", {"10.244.0.1"}), now);
    const auto drained = r.sync(now);
    REQUIRE(drained.draining == 1);
    REQUIRE(realServers(kernel, "10.96.0.10") == 2);
    reads = kernel.realServerReads().size();
  }

  // Advances the clock to the reconciler's next due time and syncs, as the loop would.
  reconcile::SyncResult tick() {
    REQUIRE(r.nextDue());
    clock.set(*r.nextDue());
    return r.sync(clock.now());
  }

  std::vector<VirtualServerKey> readsSinceSetUp() const {
    const auto& all = kernel.realServerReads();
    return {all.begin() + static_cast<std::ptrdiff_t>(reads), all.end()};
  }

  ManualClock clock;
  MemoryDataplane kernel;
  Reconciler r;
  std::size_t reads = 0;
};

}  // namespace

TEST_CASE(
    "a drain ends at the next drain check after its connections reach 0, at a 1 h sync "
    "period",
    "[reconciler][drain]") {
  Fixture f;
  const auto start = f.clock.now();
  CHECK(f.r.nextDue() == start + kDrainCheckInterval);

  // Still connected at the first check: kept at weight 0, and checked again later.
  auto first = f.tick();
  CHECK(first.drainCheck);
  CHECK_FALSE(first.full);
  CHECK(first.draining == 1);
  CHECK(realServers(f.kernel, "10.96.0.10") == 2);
  CHECK(f.r.nextDue() == start + 2 * kDrainCheckInterval);

  REQUIRE(f.kernel.setConnections(vsKey("10.96.0.10"), {ip("10.244.0.2"), 8080}, 0, 0));
  auto second = f.tick();
  CHECK(second.drainCheck);
  CHECK(second.draining == 0);
  CHECK(realServers(f.kernel, "10.96.0.10") == 1);
  CHECK(f.r.drainingCount() == 0);
  CHECK(second.state == SyncState::kSynced);
  CHECK(f.kernel.observeCalls() == 1);  // never a full dump: only the first sync's
}

TEST_CASE("the drain check reads only the virtual servers that have drains",
          "[reconciler][drain]") {
  Fixture f;
  // A second drain in the same VS still costs one read.
  REQUIRE(f.kernel.setConnections(vsKey("10.96.0.10"), {ip("10.244.0.1"), 8080}, 1, 0));
  f.r.upsertSlice(slice("web", {"10.244.0.3"}), f.clock.now());
  REQUIRE(f.r.sync(f.clock.now()).draining == 2);
  f.reads = f.kernel.realServerReads().size();

  f.tick();
  CHECK(f.readsSinceSetUp() == std::vector<VirtualServerKey>{vsKey("10.96.0.10")});
  f.tick();
  CHECK(f.readsSinceSetUp().size() == 2);
  CHECK(f.kernel.observeCalls() == 1);
}

TEST_CASE("no drain check runs when nothing drains", "[reconciler][drain]") {
  ManualClock clock;
  MemoryDataplane kernel;
  Reconciler r(kernel, options(1h));
  r.upsertService(service("web", "10.96.0.10"), clock.now());
  r.upsertSlice(slice("web", {"10.244.0.1", "10.244.0.2"}), clock.now());
  r.sync(clock.now(), true);
  CHECK_FALSE(r.nextDue());

  // A removed endpoint without connections goes at once: no drain, so no timer.
  r.upsertSlice(slice("web", {"10.244.0.1"}), clock.now());
  auto removed = r.sync(clock.now());
  CHECK(removed.draining == 0);
  CHECK(realServers(kernel, "10.96.0.10") == 1);
  CHECK_FALSE(r.nextDue());

  const auto reads = kernel.realServerReads().size();
  clock.advance(10 * kDrainCheckInterval);
  auto later = r.sync(clock.now());
  CHECK_FALSE(later.drainCheck);
  CHECK(kernel.realServerReads().size() == reads);
}

TEST_CASE("the drain timer stops once the last drain ends", "[reconciler][drain]") {
  Fixture f;
  REQUIRE(f.kernel.setConnections(vsKey("10.96.0.10"), {ip("10.244.0.2"), 8080}, 0, 0));
  f.tick();
  CHECK(f.r.drainingCount() == 0);
  CHECK_FALSE(f.r.nextDue());
  const auto reads = f.kernel.realServerReads().size();
  f.clock.advance(10 * kDrainCheckInterval);
  CHECK_FALSE(f.r.sync(f.clock.now()).drainCheck);
  CHECK(f.kernel.realServerReads().size() == reads);
}

TEST_CASE("a failed read at the drain check schedules the backed-off full resync",
          "[reconciler][drain]") {
  Fixture f;
  REQUIRE(f.kernel.setConnections(vsKey("10.96.0.10"), {ip("10.244.0.2"), 8080}, 0, 0));
  f.kernel.failObserve(std::make_error_code(std::errc::io_error));
  auto failed = f.tick();
  CHECK(failed.drainCheck);
  CHECK(failed.fullResyncScheduled);
  CHECK(realServers(f.kernel, "10.96.0.10") == 2);  // nothing decided on unread counters
  // The full resync's first backoff (1 s, no jitter) comes before the next drain check.
  CHECK(f.r.nextDue() == f.clock.now() + 1s);

  f.kernel.failObserve({});
  auto full = f.tick();
  CHECK(full.full);
  CHECK(realServers(f.kernel, "10.96.0.10") == 1);
  CHECK(f.r.drainingCount() == 0);
  CHECK(f.kernel.observeCalls() == 2);  // the first sync and this resync
}

TEST_CASE("the drain limit is enforced at the drain check", "[reconciler][drain]") {
  Fixture f(std::chrono::seconds(5));
  // Connections never end; the limit (5 s) passes at the third check (6 s).
  f.tick();
  f.tick();
  CHECK(realServers(f.kernel, "10.96.0.10") == 2);
  auto third = f.tick();
  CHECK(third.drainCheck);
  CHECK(realServers(f.kernel, "10.96.0.10") == 1);
  CHECK(f.r.drainingCount() == 0);
}

namespace {

// Records what the sync loop reports.
struct RecordingObserver final : reconcile::SyncObserver {
  void changesQueued(std::size_t, std::size_t) override {}
  void synced(const reconcile::SyncReport& report) override { results.push_back(report.result); }
  std::vector<reconcile::SyncResult> results;
};

}  // namespace

TEST_CASE("an idle drain check is not reported as a sync, and one that deletes is",
          "[reconciler][drain]") {
  ManualClock clock;
  MemoryDataplane kernel;
  Reconciler r(kernel, options(1h));
  reconcile::ChangeQueue queue(clock);
  RecordingObserver observer;
  reconcile::SyncLoop loop(r, queue, observer, nullptr, clock, {});
  queue.serviceUpdated(service("web", "10.96.0.10"));
  queue.sliceUpdated(slice("web", {"10.244.0.1", "10.244.0.2"}));
  loop.syncOnce(true);
  REQUIRE(kernel.setConnections(vsKey("10.96.0.10"), {ip("10.244.0.2"), 8080}, 1, 0));
  queue.sliceUpdated(slice("web", {"10.244.0.1"}));
  loop.syncOnce(false);
  REQUIRE(observer.results.size() == 2);
  REQUIRE(observer.results.back().draining == 1);

  // Three checks while the connection stays open: each reads the kernel, none is a sync.
  const auto reads = kernel.realServerReads().size();
  for (int i = 0; i < 3; ++i) {
    clock.set(*r.nextDue());
    loop.syncOnce(false);
  }
  CHECK(kernel.realServerReads().size() == reads + 3);
  CHECK(observer.results.size() == 2);
  CHECK(loop.syncs() == 2);

  // The connection ends: the next check deletes the real server and reports that it did.
  REQUIRE(kernel.setConnections(vsKey("10.96.0.10"), {ip("10.244.0.2"), 8080}, 0, 0));
  clock.set(*r.nextDue());
  loop.syncOnce(false);
  REQUIRE(observer.results.size() == 3);
  const auto& done = observer.results.back();
  CHECK(done.drainCheck);
  CHECK(done.operations == 1);
  CHECK(done.draining == 0);
  CHECK(realServers(kernel, "10.96.0.10") == 1);
  CHECK(loop.syncs() == 3);
}
