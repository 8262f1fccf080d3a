#pragma once
// The IPVS scheduler and scheduler flags of each Service's virtual servers.
//
// Precedence: annotation ipvs-agent.io/scheduler (+ ipvs-agent.io/scheduler-flags), else
// kube-router's kube-router.io/service.scheduler (+ kube-router.io/service.schedflags), else the
// node default (NodeContext::defaultScheduler / defaultSchedulerFlags).
//  - Any kernel scheduler name is accepted (rr wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf twos).
//  - Flags: sh-fallback, sh-port (sh only), mh-fallback, mh-port (mh only), flag-1..flag-3 (any).
//    sh-fallback = mh-fallback = flag-1 (kFlagSched1); sh-port = mh-port = flag-2 (kFlagSched2).
//  - `mh` gets mh-port unless flags are given explicitly (kube-proxy sets it for mh).
//  - An unknown scheduler name or flag: the whole choice falls back to the node default, with a
//    diagnostic. A known flag that does not fit the scheduler (sh-port on rr): that flag is
//    ignored, with a diagnostic.
//  - kube-router compatibility: like kube-router, its flags annotation only applies to `mh`;
//    on other schedulers it is ignored (with a diagnostic).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ipvs/diagnostic.h"
#include "ipvs/model.h"
#include "ipvs/node_context.h"

namespace ipvs {

struct SchedulerSetting {
  std::string scheduler = "rr";
  std::uint32_t flags = 0;  // kFlagSched1..3 only

  bool operator==(const SchedulerSetting&) const = default;
};

bool isKnownScheduler(std::string_view name);

struct SchedulerFlagsParse {
  std::uint32_t flags = 0;
  std::vector<std::string> unknown;    // tokens that are no flag at all
  std::vector<std::string> misplaced;  // known flags that do not belong to the scheduler
};

// Parses a comma-separated flag list for `scheduler`. Blank tokens are skipped.
SchedulerFlagsParse parseSchedulerFlags(std::string_view scheduler, std::string_view list);

// The flags as ipvsadm prints them after -b: "sh-fallback,sh-port", "mh-port", "flag-3".
// Empty when no scheduler flag is set.
std::string formatSchedulerFlags(std::string_view scheduler, std::uint32_t flags);

// The node default (no annotation), assuming the configuration was validated at start-up.
SchedulerSetting defaultSchedulerSetting(const NodeContext& node);

// The setting for one Service; problems are appended to `diagnostics`.
SchedulerSetting selectScheduler(const Service& service, const NodeContext& node,
                                 std::vector<Diagnostic>& diagnostics);

}  // namespace ipvs
