// Full resyncs with the dump in the background (Reconciler::dumpInBackground): changes go out
// while the dump is in flight, and the full sync that completes it repairs drift without
// undoing or repeating what was applied meanwhile. The dump is held in flight by a gate on the
// reader's thread, so every interleaving here is fixed, not timed.

#include <catch2/catch.hpp>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "ipvs/ipvsadm_format.h"
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

// Counts the reconciler's wake-ups, so a test can wait for each background dump in turn.
class Wakes {
 public:
  std::function<void()> callback() {
    return [this] {
      const std::lock_guard lock(mutex_);
      ++count_;
      cv_.notify_all();
    };
  }
  // One full resync with the dump in the background: starts it at `t`, waits for it, completes
  // it at t+1s. Returns the completing sync.
  reconcile::SyncResult resync(Reconciler& r, Clock::TimePoint t) {
    REQUIRE(r.sync(t, /*full=*/true).dumpStarted);
    std::unique_lock lock(mutex_);
    REQUIRE(cv_.wait_for(lock, 60s, [&] { return count_ > taken_; }));
    ++taken_;
    lock.unlock();
    REQUIRE(r.dumpReady());
    return r.sync(t + 1s);
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_ = 0;
  int taken_ = 0;
};

void program(Reconciler& r) {
  r.upsertService(service("web", "10.96.0.10"), kT0);
  r.upsertSlice(slice("web", {"10.244.0.1"}), kT0);
  r.upsertService(service("api", "10.96.0.11"), kT0);
  r.upsertSlice(slice("api", {"10.244.0.5"}), kT0);
}

// Dumps in the background through `dp`'s reader, programs web and api, and syncs them once
// (the first full sync reads on the sync thread and diffs every key).
void startInBackground(Reconciler& r, Dataplane& dp, Wakes& wakes) {
  r.dumpInBackground(dp.openReader(), wakes.callback());
  program(r);
  REQUIRE(r.sync(kT0).wholeDiff);
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
  // The dump was compared with the mirror as it was read: api's virtual server is the drift;
  // web's differs in the dump too, but the sync thread wrote it meanwhile, so it is not.
  CHECK(completed.drift == 1);
  CHECK_FALSE(completed.wholeDiff);
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

TEST_CASE(
    "background dump: a resync diffs only the drift, of every kind, and leaves foreign "
    "objects alone",
    "[reconciler][dump]") {
  MemoryDataplane kernel;
  Wakes wakes;
  Reconciler r(kernel, options(30s));
  startInBackground(r, kernel, wakes);
  const std::string programmed = formatIpvsadmSave(kernel.state());
  const auto entries = kernel.state().ipsetEntries;
  const auto addresses = kernel.state().boundAddresses;

  // Nothing changed: the resync finds no drift and plans nothing, not even a whole diff.
  auto quiet = wakes.resync(r, kT0 + 1s);
  CHECK(quiet.full);
  CHECK_FALSE(quiet.wholeDiff);
  CHECK(quiet.drift == 0);
  CHECK(quiet.operations == 0);

  // Connection counters move all the time: they are not drift.
  kernel.mutableState().virtualServers.at(vsKey("10.96.0.10")).realServers[0].conns = {3, 4};
  CHECK(wakes.resync(r, kT0 + 3s).drift == 0);

  // Drift of each kind by another writer, and a foreign virtual server the agent does not own.
  auto& web = kernel.mutableState().virtualServers.at(vsKey("10.96.0.10"));
  web.realServers[0].server.weight = 7;
  web.server.scheduler = "wlc";
  kernel.mutableState().virtualServers.erase(vsKey("10.96.0.11"));
  kernel.mutableState().ipsetEntries.erase(*entries.begin());
  kernel.mutableState().boundAddresses.erase(*addresses.begin());
  IpsetEntry stray = *entries.begin();  // an entry of the agent's own set that it never wrote
  stray.entry = "10.96.9.9,tcp:9";
  kernel.mutableState().ipsetEntries.insert(stray);
  kernel.mutableState().boundAddresses.insert(*IpAddress::parse("10.96.9.9"));
  const ObservedVirtualServer foreign{VirtualServer{vsKey("192.0.2.1", 443), "sh", 0, 0, 32}, {}};
  kernel.mutableState().virtualServers.emplace(foreign.server.key, foreign);

  const auto repaired = wakes.resync(r, kT0 + 5s);
  CHECK(repaired.full);
  CHECK_FALSE(repaired.wholeDiff);
  // web, api (gone), the foreign VS, and an ipset entry and an address each lost and added
  CHECK(repaired.drift == 7);
  auto expected = kernel.state();
  expected.virtualServers.erase(foreign.server.key);
  CHECK(formatIpvsadmSave(expected) == programmed);
  CHECK(kernel.state().virtualServers.at(foreign.server.key).server == foreign.server);
  CHECK(kernel.state().ipsetEntries == entries);
  CHECK(kernel.state().boundAddresses == addresses);
  // The mirror now holds the foreign VS as it is: no drift, and it is still not touched.
  CHECK(wakes.resync(r, kT0 + 7s).drift == 0);
  CHECK(kernel.state().virtualServers.at(foreign.server.key).server == foreign.server);
}

TEST_CASE("background dump: after lost replies, the next resync diffs every key once",
          "[reconciler][dump]") {
  LosingDataplane dp;
  Wakes wakes;
  Reconciler r(dp, options(30s));
  startInBackground(r, dp, wakes);
  CHECK_FALSE(wakes.resync(r, kT0 + 1s).wholeDiff);

  dp.loseNext = true;
  r.upsertSlice(slice("web", {"10.244.0.1", "10.244.0.2"}), kT0 + 3s);
  REQUIRE(r.sync(kT0 + 3s).fullResyncScheduled);
  // The mirror is not trusted now: the resync re-reads the kernel and diffs every key, which
  // finds nothing left to do here (the kernel did the work whose replies were lost).
  const auto whole = wakes.resync(r, kT0 + 4s);
  CHECK(whole.full);
  CHECK(whole.wholeDiff);
  CHECK(whole.operations == 0);
  CHECK(realServers(dp.kernel, "10.96.0.10") == 2);
  CHECK_FALSE(wakes.resync(r, kT0 + 6s).wholeDiff);  // trusted again
}
