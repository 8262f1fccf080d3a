#include "ipvs/scheduler.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "ipvs/kernel_objects.h"

namespace ipvs {
namespace {

constexpr std::array<std::string_view, 14> kSchedulers = {
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf", "twos"};

constexpr std::uint32_t kSchedFlagMask = kFlagSched1 | kFlagSched2 | kFlagSched3;

struct FlagName {
  std::string_view name;
  std::string_view onlyFor;  // "" = any scheduler
  std::uint32_t bit;
};

constexpr std::array<FlagName, 7> kFlagNames = {{
    {"flag-1", "", kFlagSched1},
    {"flag-2", "", kFlagSched2},
    {"flag-3", "", kFlagSched3},
    {"sh-fallback", "sh", kFlagSched1},
    {"sh-port", "sh", kFlagSched2},
    {"mh-fallback", "mh", kFlagSched1},
    {"mh-port", "mh", kFlagSched2},
}};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// An explicit (annotation) choice of scheduler and flags. Returns false if it must fall back.
bool applyExplicit(const Service& svc, std::string_view source, const std::string& name,
                   const std::string* flags, bool flagsOnlyForMh, SchedulerSetting& out,
                   std::vector<Diagnostic>& diags) {
  if (!isKnownScheduler(name)) {
    diags.push_back({svc.key, kReasonBadScheduler,
                     std::string(source) + ": unknown IPVS scheduler \"" + name +
                         "\"; using the node default"});
    return false;
  }
  out.scheduler = name;
  out.flags = name == "mh" ? kFlagSched2 : 0;
  if (flags == nullptr) return true;
  if (flagsOnlyForMh && name != "mh") {
    diags.push_back({svc.key, kReasonSchedulerFlagIgnored,
                     std::string(source) + ": scheduler flags \"" + *flags +
                         "\" only apply to mh (as in kube-router); ignored"});
    return true;
  }
  auto parsed = parseSchedulerFlags(name, *flags);
  if (!parsed.unknown.empty()) {
    diags.push_back({svc.key, kReasonBadSchedulerFlags,
                     std::string(source) + ": unknown scheduler flag(s) \"" +
                         joined(parsed.unknown) + "\"; using the node default"});
    return false;
  }
  if (!parsed.misplaced.empty()) {
    diags.push_back({svc.key, kReasonSchedulerFlagIgnored,
                     std::string(source) + ": flag(s) \"" + joined(parsed.misplaced) +
                         "\" do not apply to scheduler " + name + "; ignored"});
  }
  out.flags = parsed.flags;
  return true;
}

}  // namespace

bool isKnownScheduler(std::string_view name) {
  return std::find(kSchedulers.begin(), kSchedulers.end(), name) != kSchedulers.end();
}

SchedulerFlagsParse parseSchedulerFlags(std::string_view scheduler, std::string_view list) {
  SchedulerFlagsParse out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto token = lower(trim(list.substr(0, comma)));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (token.empty()) continue;
    const auto it = std::find_if(kFlagNames.begin(), kFlagNames.end(),
                                 [&](const FlagName& f) { return f.name == token; });
    if (it == kFlagNames.end()) {
      out.unknown.push_back(token);
    } else if (!it->onlyFor.empty() && it->onlyFor != scheduler) {
      out.misplaced.push_back(token);
    } else {
      out.flags |= it->bit;
    }
  }
  return out;
}

std::string formatSchedulerFlags(std::string_view scheduler, std::uint32_t flags) {
  // Same spelling and order as ipvsadm's print_sched_flags().
  std::string out;
  auto add = [&](std::uint32_t bit, std::string_view name) {
    if ((flags & bit) == 0) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  if (scheduler == "sh" || scheduler == "mh") {
    // flag-3 has no sh/mh name but is still set (and accepted by parseSchedulerFlags): leaving
    // it out would print a setting that reads back without it.
    const std::string prefix(scheduler);
    add(kFlagSched1, prefix + "-fallback");
    add(kFlagSched2, prefix + "-port");
    add(kFlagSched3, "flag-3");
  } else {
    add(kFlagSched1, "flag-1");
    add(kFlagSched2, "flag-2");
    add(kFlagSched3, "flag-3");
  }
  return out;
}

SchedulerSetting defaultSchedulerSetting(const NodeContext& node) {
  SchedulerSetting out;
  out.scheduler = node.defaultScheduler.empty() ? "rr" : node.defaultScheduler;
  if (node.defaultSchedulerFlags.empty()) {
    out.flags = out.scheduler == "mh" ? kFlagSched2 : 0;
    return out;
  }
  for (const auto& f : node.defaultSchedulerFlags) {
    out.flags |= parseSchedulerFlags(out.scheduler, f).flags & kSchedFlagMask;
  }
  return out;
}

SchedulerSetting selectScheduler(const Service& svc, const NodeContext& node,
                                 std::vector<Diagnostic>& diags) {
  const SchedulerSetting fallback = defaultSchedulerSetting(node);
  SchedulerSetting out = fallback;
  const std::string* ours = findValue(svc.annotations, kAnnotationScheduler);
  const std::string* ourFlags = findValue(svc.annotations, kAnnotationSchedulerFlags);
  const std::string* kr = findValue(svc.annotations, kAnnotationKubeRouterScheduler);
  const std::string* krFlags = findValue(svc.annotations, kAnnotationKubeRouterFlags);
  const std::string oursName = ours ? lower(trim(*ours)) : std::string();
  const std::string krName = kr ? lower(trim(*kr)) : std::string();
  bool ok = true;
  if (!oursName.empty()) {
    ok = applyExplicit(svc, kAnnotationScheduler, oursName, ourFlags, false, out, diags);
  } else if (!krName.empty()) {
    ok = applyExplicit(svc, kAnnotationKubeRouterScheduler, krName, krFlags, true, out, diags);
  } else if (ourFlags != nullptr) {
    // Flags alone refine the node default scheduler.
    ok = applyExplicit(svc, kAnnotationSchedulerFlags, fallback.scheduler, ourFlags, false, out,
                       diags);
  }
  return ok ? out : fallback;
}

}  // namespace ipvs
