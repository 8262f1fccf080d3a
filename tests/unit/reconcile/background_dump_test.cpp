// Full resyncs with the dump in the background (Reconciler::dumpInBackground): changes go out
// while the dump is in flight, and the full sync that completes it repairs drift without
// undoing or repeating what was applied meanwhile. The dump is held in flight by a gate on the
// reader's thread, so every interleaving here is fixed, not timed.

#include <catch2/catch.hpp>
#include <future>
#include <memory>
#include <span>
#include <string>

#include "ipvs/memory_dataplane.h"
#include "reconcile/reconciler.h"
#include "tests/unit/reconcile/fixtures.h"

using namespace ipvs;
using namespace std::chrono_literals;
using reconcile::Reconciler;
using namespace reconcile::test;

namespace {

const Clock::TimePoint kT0 = Clock::TimePoint{} + std::chrono::hours(1);

// Holds the reader after it has copied the kernel: copied() says the copy is taken, release()
// lets the dump return. done() is set by the reconciler's wake callback.
struct Gate {
  std::promise<void> copied, released, done;
  std::shared_future<void> releasedFuture = released.get_future().share();

  void install(MemoryDataplane& kernel) {
    kernel.onReaderObserved([this] {
      copied.set_value();
      releasedFuture.wait();
    });
  }
};

// MemoryDataplane whose next apply reports its replies lost (the ENOBUFS path): the kernel did
// the work, but the reconciler must not trust its mirror.
class LosingDataplane final : public Dataplane {
 public:
  MemoryDataplane kernel;
  bool loseNext = false;
  Result<KernelState> observe() override { return kernel.observe(); }
  std::unique_ptr<KernelReader> openReader() override { return kernel.openReader(); }
  Result<std::vector<ObservedRealServer>> observeRealServers(const VirtualServerKey& k) override {
    return kernel.observeRealServers(k);
  }
  ApplyReport apply(std::span<const Operation> ops) override {
    ApplyReport report = kernel.apply(ops);
    report.stateUncertain = std::exchange(loseNext, false);
    return report;
  }
};

void program(Reconciler& r) {
  r.upsertService(service("web", "10.96.0.10"), kT0);
  r.upsertSlice(slice("web", {"10.244.0.1"}), kT0);
  r.upsertService(service("api", "10.96.0.11"), kT0);
  r.upsertSlice(slice("api", {"10.244.0.5"}), kT0);
}

}  // namespace

TEST_CASE("background dump: changes go out while it runs, and its completion repairs drift",
          "[reconciler][dump]") {
  MemoryDataplane kernel;
  Gate gate;
  Reconciler r(kernel, options(30s));
  r.dumpInBackground(kernel.openReader(), [&gate] { gate.done.set_value(); });
  program(r);
  const auto first = r.sync(kT0);
  REQUIRE(first.full);  // the first full sync reads on the sync thread: nothing to wait for
  CHECK_FALSE(first.dumpStarted);
  CHECK_FALSE(first.dump.has_value());  // read on this thread: no background dump to time
  REQUIRE(realServers(kernel, "10.96.0.11") == 1);

  // Drift by another writer: api's virtual server deleted by hand.
  kernel.mutableState().virtualServers.erase(vsKey("10.96.0.11"));
  gate.install(kernel);
  const auto started = r.sync(kT0 + 1s, /*full=*/true);
  CHECK(started.dumpStarted);
  CHECK_FALSE(started.full);
  gate.copied.get_future().wait();  // the dump has its (soon stale) copy of the kernel

  // A change while the dump is in flight goes out at once, diffed against the mirror.
  r.upsertSlice(slice("web", {"10.244.0.1", "10.244.0.2"}), kT0 + 2s);
  const auto during = r.sync(kT0 + 2s);
  CHECK_FALSE(during.full);
  CHECK(during.appliedByKind == std::map<std::string_view, std::size_t>{{"add_real_server", 1}});
  CHECK(realServers(kernel, "10.96.0.10") == 2);
  CHECK_FALSE(r.dumpReady());
  CHECK(r.nextDue() == std::nullopt);  // the full resync is in flight, not due again

  gate.released.set_value();
  gate.done.get_future().wait();
  REQUIRE(r.dumpReady());
  const auto completed = r.sync(kT0 + 3s);
  CHECK(completed.full);
  CHECK_FALSE(completed.observeFailed);
  // The dump it completes was timed on its own thread (it was held at the gate meanwhile).
  REQUIRE(completed.dump.has_value());
  CHECK(completed.dump->wall > std::chrono::nanoseconds(0));
  CHECK_FALSE(during.dump.has_value());
  // Only the drift is repaired. The dump still shows web with one real server; taking it as is
  // would plan web's second real server again (an idempotent add).
  CHECK(completed.appliedByKind ==
        std::map<std::string_view, std::size_t>{{"add_virtual_server", 1}, {"add_real_server", 1}});
  CHECK(completed.idempotent == 0);
  CHECK(realServers(kernel, "10.96.0.11") == 1);
  CHECK(realServers(kernel, "10.96.0.10") == 2);
  CHECK(r.sync(kT0 + 4s).operations == 0);
  CHECK_FALSE(r.dumpReady());
}

TEST_CASE("background dump: a failed dump is a failed full resync, retried with backoff",
          "[reconciler][dump]") {
  MemoryDataplane kernel;
  std::promise<void> done;
  Reconciler r(kernel, options(30s));
  r.dumpInBackground(kernel.openReader(), [&done] { done.set_value(); });
  program(r);
  REQUIRE(r.sync(kT0).full);

  kernel.failObserve(std::make_error_code(std::errc::io_error));
  CHECK(r.sync(kT0 + 1s, /*full=*/true).dumpStarted);
  done.get_future().wait();
  const auto failed = r.sync(kT0 + 2s);
  CHECK(failed.observeFailed);
  CHECK_FALSE(failed.full);
  CHECK(failed.fullResyncScheduled);
  REQUIRE(r.nextDue().has_value());  // the retry of the full resync
  CHECK(*r.nextDue() > kT0 + 2s);
}

TEST_CASE("background dump: replies lost while it runs make it untrustworthy",
          "[reconciler][dump]") {
  LosingDataplane dp;
  Gate gate;
  Reconciler r(dp, options(30s));
  r.dumpInBackground(dp.openReader(), [&gate] { gate.done.set_value(); });
  program(r);
  REQUIRE(r.sync(kT0).full);

  gate.install(dp.kernel);
  REQUIRE(r.sync(kT0 + 1s, /*full=*/true).dumpStarted);
  gate.copied.get_future().wait();
  dp.loseNext = true;
  r.upsertSlice(slice("web", {"10.244.0.1", "10.244.0.2"}), kT0 + 2s);
  CHECK(r.sync(kT0 + 2s).fullResyncScheduled);

  gate.released.set_value();
  gate.done.get_future().wait();
  // The dump may predate what the lost replies did: it is not taken as the kernel's state.
  const auto completed = r.sync(kT0 + 3s);
  CHECK_FALSE(completed.full);
  CHECK(completed.observeFailed);
  CHECK(completed.fullResyncScheduled);
}
