// MirrorLock: the sync thread's lockFirst() goes ahead of the background dump's lock(), and the
// lock still excludes.

#include "reconcile/mirror_lock.h"

#include <catch2/catch.hpp>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using reconcile::MirrorLock;

TEST_CASE("mirror lock: a waiting lockFirst goes before a waiting lock", "[mirror_lock]") {
  MirrorLock lock;
  std::mutex orderMutex;
  std::string order;
  const auto note = [&](char who) {
    const std::lock_guard guard(orderMutex);
    order += who;
  };

  lock.lock();  // the dump holds it
  // Another of the dump's turns asks first, then the sync thread.
  std::thread dump([&] {
    const std::lock_guard guard(lock);
    note('D');
  });
  std::thread sync([&] {
    lock.lockFirst();
    const std::lock_guard guard(lock, std::adopt_lock);
    note('S');
  });
  while (lock.firstWaiting() == 0) std::this_thread::yield();
  lock.unlock();
  sync.join();
  dump.join();
  CHECK(order == "SD");
}

TEST_CASE("mirror lock: one holder at a time, however it was taken", "[mirror_lock]") {
  MirrorLock lock;
  long counter = 0;  // not atomic: only the lock keeps the increments apart
  constexpr int kRounds = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, first = t == 0] {
      for (int i = 0; i < kRounds; ++i) {
        if (first) {
          lock.lockFirst();
        } else {
          lock.lock();
        }
        const std::lock_guard guard(lock, std::adopt_lock);
        ++counter;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(counter == 3L * kRounds);
  CHECK(lock.firstWaiting() == 0);
}
