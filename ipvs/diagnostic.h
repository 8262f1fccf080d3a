#pragma once
// A problem found while planning, attached to the object it concerns. The planner never stops
// at bad input: it skips or defaults the bad part and reports it here. The agent logs each
// diagnostic once and counts it under `reason` (a short, stable metric label).

#include <string>

#include "ipvs/model.h"

namespace ipvs {

struct Diagnostic {
  ObjectKey object;
  std::string reason;   // e.g. "bad_scheduler_annotation"; stable, snake_case
  std::string message;  // human-readable, names the offending value

  bool operator==(const Diagnostic&) const = default;
};

// Reason ids used by the planner.
inline constexpr const char* kReasonBadScheduler = "bad_scheduler_annotation";
inline constexpr const char* kReasonBadSchedulerFlags = "bad_scheduler_flags";
inline constexpr const char* kReasonSchedulerFlagIgnored = "scheduler_flag_ignored";
inline constexpr const char* kReasonDuplicateVirtualServer = "duplicate_virtual_server";
inline constexpr const char* kReasonVirtualServerConflict = "virtual_server_conflict";
// The Service would expand into more kernel objects than kMaxKernelObjectsPerService
// (translate.h); it is not programmed at all (ServiceDesired::ignoredReason says the same).
inline constexpr const char* kReasonTooManyKernelObjects = "too_many_kernel_objects";

}  // namespace ipvs
