#pragma once
// MirrorLock: the kernel mirror's lock, which the sync thread takes ahead of the resync's dump.
//
// Purpose: a full resync's dump (background_dump.h) compares what it reads with the mirror under
//   this lock, one object at a time, tens of thousands of times per dump, while the sync thread
//   holds it for a whole sync. With a plain mutex a change could wait for several of the dump's
//   turns: on one CPU the dump thread, still running when its unlock woke the sync thread, takes
//   the lock again before the sync thread is scheduled. Here a waiting sync thread stops the dump
//   from taking the lock again, so a change waits for one comparison of the dump at most.
// Threading: lockFirst() on the sync thread, lock() on the dump's thread, unlock() by whichever
//   holds it. lock() and unlock() make it BasicLockable, for std::lock_guard; a lockFirst() is
//   paired with std::lock_guard(lock, std::adopt_lock).
// Ownership: none.

#include <condition_variable>
#include <mutex>

namespace reconcile {

class MirrorLock {
 public:
  void lock() {  // waits while the lock is held, or while lockFirst() waits for it
    std::unique_lock guard(state_);
    free_.wait(guard, [this] { return !held_ && first_ == 0; });
    held_ = true;
  }

  void lockFirst() {  // waits only while the lock is held
    std::unique_lock guard(state_);
    ++first_;
    free_.wait(guard, [this] { return !held_; });
    --first_;
    held_ = true;
  }

  int firstWaiting() {  // lockFirst() callers waiting now
    const std::lock_guard guard(state_);
    return first_;
  }

  void unlock() {
    {
      const std::lock_guard guard(state_);
      held_ = false;
    }
    free_.notify_all();
  }

 private:
  std::mutex state_;  // guards held_ and first_, never held for longer than their update
  std::condition_variable free_;
  bool held_ = false;
  int first_ = 0;  // lockFirst() callers waiting
};

}  // namespace reconcile
