#pragma once
// BackgroundDump: the kernel read of a full resync, off the sync thread, compared with the
// mirror as it is read.
//
// Purpose: a full resync re-reads the whole kernel, and at 10,000 Services that dump takes
//   seconds of the kernel's own time. Done on the sync thread, every change that arrived
//   meanwhile waited for it, so event latency grew with the cluster. Here the dump runs on a
//   thread of its own through a KernelReader (its own sockets) while the sync thread goes on
//   applying changes. Each virtual server is compared with the mirror as soon as it is read and
//   kept only if it differs (the drift), so no second copy of the table is ever built; the
//   ipset members and addresses are compared as they are read too, and only a hash of each
//   member and a sorted list of the addresses stay, to find the mirror's members the kernel
//   lacks. The objects the sync thread writes or re-reads meanwhile are remembered: for them the
//   dump may hold an older view than the mirror, which holds what the kernel acknowledged, so
//   take() leaves exactly those alone.
//   Everything else the dump found different is drift made by other writers.
// Threading: start(), ready(), touched(), taint() and take() on the sync thread only; the
//   reader runs on the dump's thread, one dump at a time, at the agent's own priority (it holds
//   locks the sync thread needs, so it is not niced). That thread reads the mirror only while it
//   holds `mirrorMutex`, which the sync thread holds whenever it changes the mirror, and a few
//   hundred members at a time; a sync waiting for it goes before the dump's next turn
//   (MirrorLock), so a sync never waits for more than one such stretch. The reader's sockets ask
//   the kernel for short dump replies, so the dump holds the CPU in the kernel briefly too.
//   `onDone` runs on the dump's thread once the result is ready (the sync loop uses it to wake
//   up).
// Ownership: owns the reader and the thread; borrows the mirror and its mutex, which must
//   outlive it; the destructor waits for a running dump.
// Errors: a failed dump is returned by take(); a dump during which the sync thread lost track
//   of the kernel (ENOBUFS) is returned as tainted, to be repeated, and corrects nothing.

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <thread>

#include "ipvs/dataplane.h"
#include "ipvs/desired_state.h"
#include "ipvs/operation.h"
#include "reconcile/mirror_lock.h"

namespace reconcile {

// What one dump cost, measured on its own thread: the wall time from start() until the result
// was in, and that thread's CPU time (most of the kernel's work is charged to it too).
struct DumpTimes {
  std::chrono::nanoseconds wall{};
  std::chrono::nanoseconds cpu{};
};

class BackgroundDump {
 public:
  BackgroundDump(std::unique_ptr<ipvs::KernelReader> reader, const ipvs::KernelState& mirror,
                 MirrorLock& mirrorMutex, std::function<void()> onDone);
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
    std::error_code error;  // the dump failed: nothing was corrected
    bool tainted = false;   // not trusted: nothing was corrected
    DumpTimes times;
    ipvs::ChangedKeys drift;  // what the mirror had wrong, now as the kernel has it (normalized)
  };
  // Waits for the dump and corrects `mirror` (the one given to the constructor) to the kernel's
  // view wherever they differed, except for the objects touched meanwhile.
  Taken take(ipvs::KernelState& mirror);

 private:
  // Where the kernel differed from the mirror when it was read. A virtual server without a
  // value is gone from the kernel; an ipset member or address maps to whether the kernel has it.
  struct Drift {
    std::map<ipvs::VirtualServerKey, std::optional<ipvs::ObservedVirtualServer>> virtualServers;
    std::map<ipvs::IpsetEntry, bool> ipsetEntries;
    std::map<ipvs::IpAddress, bool> addresses;
  };
  ipvs::Result<Drift> compare();  // on the dump's thread

  std::unique_ptr<ipvs::KernelReader> reader_;
  const ipvs::KernelState& mirror_;
  MirrorLock& mirrorMutex_;
  std::function<void()> onDone_;
  std::thread thread_;
  std::future<ipvs::Result<Drift>> result_;
  DumpTimes times_;  // written by the dump's thread before the result is set
  std::set<ipvs::VirtualServerKey> virtualServers_;
  std::set<ipvs::IpsetEntry> ipsetEntries_;
  std::set<ipvs::IpAddress> addresses_;
  bool tainted_ = false;
};

}  // namespace reconcile
