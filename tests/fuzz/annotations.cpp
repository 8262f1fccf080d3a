// libFuzzer target: the scheduler annotations of a Service (ipvs/scheduler.*). Whatever the
// annotations say, the chosen scheduler is one the kernel knows, only scheduler flags are set,
// the flags print and parse back to themselves, and every diagnostic names its Service.
//
// Input: byte 0 picks which of the four annotations are present (bits 0-3) and the node's
// default scheduler (bits 4-7); the rest, split at '\n', gives the present values in order.
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "ipvs/kernel_objects.h"
#include "ipvs/scheduler.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

constexpr std::array<std::string_view, 4> kAnnotations = {
    ipvs::kAnnotationScheduler, ipvs::kAnnotationSchedulerFlags,
    ipvs::kAnnotationKubeRouterScheduler, ipvs::kAnnotationKubeRouterFlags};
constexpr std::array<std::string_view, 16> kDefaults = {
    "rr",  "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh",
    "sed", "nq",  "mh", "fo",  "ovf",  "twos",  "sh", "mh"};
constexpr std::uint32_t kSchedFlags = ipvs::kFlagSched1 | ipvs::kFlagSched2 | ipvs::kFlagSched3;

void checkRoundTrip(const ipvs::SchedulerSetting& s) {
  const std::string text = ipvs::formatSchedulerFlags(s.scheduler, s.flags);
  const auto back = ipvs::parseSchedulerFlags(s.scheduler, text);
  if (back.flags != s.flags || !back.unknown.empty() || !back.misplaced.empty()) {
    fuzz::fail("scheduler flags \"" + text + "\" of " + s.scheduler + " do not parse back");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  ipvs::Service svc;
  svc.key = {"ns", "svc"};
  std::string_view rest = fuzz::asText(data + 1, size - 1);
  for (std::size_t i = 0; i < kAnnotations.size(); ++i) {
    if ((data[0] & (1u << i)) == 0) continue;
    const auto nl = rest.find('\n');
    svc.annotations.emplace_back(std::string(kAnnotations[i]), std::string(rest.substr(0, nl)));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  }
  std::sort(svc.annotations.begin(), svc.annotations.end());
  ipvs::NodeContext node;
  node.defaultScheduler = std::string(kDefaults[data[0] >> 4]);

  std::vector<ipvs::Diagnostic> diags;
  const auto chosen = ipvs::selectScheduler(svc, node, diags);
  if (!ipvs::isKnownScheduler(chosen.scheduler))
    fuzz::fail("unknown scheduler " + chosen.scheduler);
  if ((chosen.flags & ~kSchedFlags) != 0) fuzz::fail("non-scheduler flags chosen");
  checkRoundTrip(chosen);
  for (const auto& d : diags) {
    if (!(d.object == svc.key) || d.reason.empty() || d.message.empty()) {
      fuzz::fail("diagnostic without object, reason or message: " + d.message);
    }
  }
  return 0;
}
