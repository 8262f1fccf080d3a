#pragma once
// The precise result of applying one operation to an in-memory KernelState, so that callers
// can tell idempotent outcomes (add of something present, delete of something absent) from
// real errors. applyTo() in operation.h is this, reduced to "applied or not".

#include "ipvs/kernel_objects.h"
#include "ipvs/operation.h"

namespace ipvs {

enum class ApplyOutcome {
  kApplied,
  kExists,           // add of an existing object: nothing changed (kernel: EEXIST)
  kMissing,          // edit/delete of a missing object: nothing changed (ESRCH/ENOENT)
  kNoVirtualServer,  // real-server operation on a missing virtual server (ESRCH)
};

ApplyOutcome applyOperation(KernelState& state, const Operation& op);

}  // namespace ipvs
