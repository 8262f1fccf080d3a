#pragma once
// lowerThreadPriority(): the calling thread to nice 19, for background work that a change's
// sync must come before on a busy CPU: a full resync's kernel dump, and the iptables repair
// with the iptables-save/iptables-restore it runs (a child inherits its thread's nice value).
// Linux nice values are per thread, and raising one needs no privilege. Not SCHED_IDLE, which
// a busy node could starve forever.

#include <sys/resource.h>
#include <unistd.h>

namespace reconcile {

inline constexpr int kBackgroundNice = 19;

inline void lowerThreadPriority() {
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kBackgroundNice);
}

}  // namespace reconcile
