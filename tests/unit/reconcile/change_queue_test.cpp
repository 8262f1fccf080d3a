// ChangeQueue's waits: the sync loop waits for the initial list with waitUntilSynced, which the
// list's own changes must not end (they arrive by the thousand), and which a sync ends at once.

#include "reconcile/change_queue.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "tests/unit/reconcile/fixtures.h"

using namespace reconcile;
using namespace reconcile::test;

TEST_CASE("change queue: waitUntilSynced ends when the lists are done, not on a change",
          "[change_queue]") {
  ChangeQueue queue;
  queue.serviceUpdated(service("a", "10.96.0.1"));
  // A change is pending, yet the wait runs to its deadline: it has not been listed yet.
  const auto start = std::chrono::steady_clock::now();
  queue.waitUntilSynced(start + std::chrono::milliseconds(20));
  CHECK(std::chrono::steady_clock::now() >= start + std::chrono::milliseconds(20));
  CHECK_FALSE(queue.allSynced());

  // Listing ends the wait, however far its deadline.
  std::thread lister([&] { queue.markAllSynced(); });
  queue.waitUntilSynced(std::chrono::steady_clock::now() + std::chrono::hours(1));
  lister.join();
  CHECK(queue.allSynced());
  CHECK(queue.pending() == 1);
}

TEST_CASE("change queue: stop ends waitUntilSynced", "[change_queue]") {
  ChangeQueue queue;
  std::thread stopper([&] { queue.stop(); });
  queue.waitUntilSynced(std::chrono::steady_clock::now() + std::chrono::hours(1));
  stopper.join();
  CHECK(queue.stopped());
}

TEST_CASE("change queue: wake ends one waitUntil without a change", "[change_queue]") {
  reconcile::ChangeQueue queue;
  queue.markAllSynced();
  // A background dump finishing before the loop waits: the wake is not lost (else this hangs).
  queue.wake();
  queue.waitUntil(std::chrono::steady_clock::now() + std::chrono::hours(1));
  CHECK(queue.pending() == 0);
  CHECK_FALSE(queue.stopped());
}
