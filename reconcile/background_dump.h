#pragma once
// BackgroundDump: the kernel read of a full resync, off the sync thread.
//
// Purpose: a full resync re-reads the whole kernel, and at 10,000 Services that dump takes
//   seconds of the kernel's own time. Done on the sync thread, every change that arrived
//   meanwhile waited for it, so event latency grew with the cluster. Here the dump runs on a
//   thread of its own through a KernelReader (its own sockets) while the sync thread goes on
//   applying changes. The objects the sync thread writes or re-reads meanwhile are remembered:
//   for them the dump may hold an older view than the mirror, which holds what the kernel
//   acknowledged, so take() keeps the mirror's version of exactly those objects. Everything
//   else comes from the dump, which is how drift made by other writers is found.
// Threading: start(), ready(), touched(), taint() and take() on the sync thread only; the
//   reader runs on the dump's thread, one dump at a time. `onDone` runs on the dump's thread
//   once the result is ready (the sync loop uses it to wake up).
// Ownership: owns the reader and the thread; the destructor waits for a running dump.
// Errors: a failed dump is returned by take(); a dump during which the sync thread lost track
//   of the kernel (ENOBUFS) is returned as tainted, to be repeated.

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <set>
#include <thread>

#include "ipvs/dataplane.h"
#include "ipvs/operation.h"

namespace reconcile {

// What one dump cost, measured on its own thread: the wall time from start() until the result
// was in, and that thread's CPU time (most of the kernel's work is charged to it too).
struct DumpTimes {
  std::chrono::nanoseconds wall{};
  std::chrono::nanoseconds cpu{};
};

class BackgroundDump {
 public:
  BackgroundDump(std::unique_ptr<ipvs::KernelReader> reader, std::function<void()> onDone);
  ~BackgroundDump();
  BackgroundDump(const BackgroundDump&) = delete;
  BackgroundDump& operator=(const BackgroundDump&) = delete;

  void start();                                     // no-op while one runs
  bool running() const;                             // started and not yet taken
  bool ready() const;                               // running, and its result is in
  void touched(const ipvs::Operation& op);          // sent by the sync thread meanwhile
  void touched(const ipvs::VirtualServerKey& key);  // re-read by the sync thread meanwhile
  void taint() {                                    // the mirror became uncertain meanwhile
    if (running()) tainted_ = true;
  }

  struct Taken {
    ipvs::Result<ipvs::KernelState> state;
    bool tainted = false;
    DumpTimes times;
  };
  // Waits for the dump and returns it with the touched objects taken from `mirror`.
  Taken take(const ipvs::KernelState& mirror);

 private:
  std::unique_ptr<ipvs::KernelReader> reader_;
  std::function<void()> onDone_;
  std::thread thread_;
  std::future<ipvs::Result<ipvs::KernelState>> result_;
  DumpTimes times_;  // written by the dump's thread before the result is set
  std::set<ipvs::VirtualServerKey> virtualServers_;
  std::set<ipvs::IpsetEntry> ipsetEntries_;
  std::set<ipvs::IpAddress> addresses_;
  bool tainted_ = false;
};

}  // namespace reconcile
