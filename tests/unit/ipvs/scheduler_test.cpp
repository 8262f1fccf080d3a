// Per-Service scheduler annotations (scheduler.h) and their diagnostics.

#include "ipvs/scheduler.h"

#include <catch2/catch.hpp>

#include "planner_fixtures.h"

using namespace fx;

namespace {

struct Pick {
  SchedulerSetting setting;
  std::vector<Diagnostic> diags;
};

Pick pick(std::vector<std::pair<std::string_view, const char*>> annotations,
          const NodeContext& n = node()) {
  auto svc = service("ns", "web", {"10.0.0.1"}, {port("p", 80)});
  for (auto [k, v] : annotations) setPair(svc.annotations, std::string(k), v);
  Pick p;
  p.setting = selectScheduler(svc, n, p.diags);
  return p;
}

std::vector<std::string> reasons(const Pick& p) {
  std::vector<std::string> out;
  for (const auto& d : p.diags) {
    CHECK(d.object == ObjectKey{"ns", "web"});
    out.push_back(d.reason);
  }
  return out;
}

}  // namespace

TEST_CASE("Scheduler annotation takes any kernel scheduler", "[scheduler]") {
  for (const char* s :
       {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "twos"}) {
    auto p = pick({{kAnnotationScheduler, s}});
    CHECK(p.setting == SchedulerSetting{s, 0});
    CHECK(p.diags.empty());
  }
  CHECK(pick({{kAnnotationScheduler, " LC "}}).setting.scheduler == "lc");
}

TEST_CASE("mh gets mh-port unless flags are explicit", "[scheduler]") {
  CHECK(pick({{kAnnotationScheduler, "mh"}}).setting == SchedulerSetting{"mh", kFlagSched2});
  CHECK(pick({{kAnnotationScheduler, "mh"}, {kAnnotationSchedulerFlags, "mh-fallback"}}).setting ==
        SchedulerSetting{"mh", kFlagSched1});
  CHECK(pick({{kAnnotationScheduler, "mh"}, {kAnnotationSchedulerFlags, ""}}).setting ==
        SchedulerSetting{"mh", 0});
  NodeContext n = node();
  n.defaultScheduler = "mh";
  CHECK(defaultSchedulerSetting(n) == SchedulerSetting{"mh", kFlagSched2});
  n.defaultSchedulerFlags = {"mh-fallback", "mh-port"};
  CHECK(defaultSchedulerSetting(n) == SchedulerSetting{"mh", kFlagSched1 | kFlagSched2});
}

TEST_CASE("Scheduler flags", "[scheduler]") {
  auto sh =
      pick({{kAnnotationScheduler, "sh"}, {kAnnotationSchedulerFlags, "sh-fallback, sh-port"}});
  CHECK(sh.setting == SchedulerSetting{"sh", kFlagSched1 | kFlagSched2});
  CHECK(formatSchedulerFlags("sh", sh.setting.flags) == "sh-fallback,sh-port");
  CHECK(formatSchedulerFlags("mh", kFlagSched2) == "mh-port");
  CHECK(formatSchedulerFlags("rr", kFlagSched3 | kFlagSched1) == "flag-1,flag-3");
  CHECK(formatSchedulerFlags("rr", kFlagPersistent) == "");

  auto generic = pick({{kAnnotationScheduler, "wlc"}, {kAnnotationSchedulerFlags, "flag-3"}});
  CHECK(generic.setting == SchedulerSetting{"wlc", kFlagSched3});

  auto misplaced =
      pick({{kAnnotationScheduler, "rr"}, {kAnnotationSchedulerFlags, "sh-port,flag-1"}});
  CHECK(misplaced.setting == SchedulerSetting{"rr", kFlagSched1});
  CHECK(reasons(misplaced) == std::vector<std::string>{"scheduler_flag_ignored"});

  // Flags alone refine the node default.
  NodeContext n = node();
  n.defaultScheduler = "sh";
  CHECK(pick({{kAnnotationSchedulerFlags, "sh-port"}}, n).setting ==
        SchedulerSetting{"sh", kFlagSched2});
}

// Fuzz finding (tests/fuzz/corpus/annotations/mh-flag-3): flag-3 on sh/mh was dropped when
// printed, so the printed flags did not parse back to the setting.
TEST_CASE("Scheduler flags: flag-3 on sh and mh prints and parses back", "[scheduler]") {
  NodeContext n = node();
  n.defaultScheduler = "mh";
  auto mh = pick({{kAnnotationSchedulerFlags, "flag-1,,flag-3, flag-2"}}, n);
  REQUIRE(mh.setting == SchedulerSetting{"mh", kFlagSched1 | kFlagSched2 | kFlagSched3});
  const auto text = formatSchedulerFlags("mh", mh.setting.flags);
  CHECK(text == "mh-fallback,mh-port,flag-3");
  CHECK(parseSchedulerFlags("mh", text).flags == mh.setting.flags);
  CHECK(formatSchedulerFlags("sh", kFlagSched3) == "flag-3");
}

TEST_CASE("Bad scheduler values fall back to the node default with a diagnostic", "[scheduler]") {
  NodeContext n = node();
  n.defaultScheduler = "lc";
  auto bad = pick({{kAnnotationScheduler, "fastest"}}, n);
  CHECK(bad.setting == SchedulerSetting{"lc", 0});
  CHECK(reasons(bad) == std::vector<std::string>{"bad_scheduler_annotation"});
  CHECK_THAT(bad.diags[0].message, Catch::Contains("fastest"));

  auto badFlag =
      pick({{kAnnotationScheduler, "sh"}, {kAnnotationSchedulerFlags, "sh-port,turbo"}}, n);
  CHECK(badFlag.setting == SchedulerSetting{"lc", 0});
  CHECK(reasons(badFlag) == std::vector<std::string>{"bad_scheduler_flags"});
  CHECK_THAT(badFlag.diags[0].message, Catch::Contains("turbo"));
}

TEST_CASE("kube-router annotations are honoured when ours are absent", "[scheduler]") {
  CHECK(pick({{kAnnotationKubeRouterScheduler, "lc"}}).setting == SchedulerSetting{"lc", 0});
  CHECK(
      pick({{kAnnotationKubeRouterScheduler, "mh"}, {kAnnotationKubeRouterFlags, "flag-1,flag-2"}})
          .setting == SchedulerSetting{"mh", kFlagSched1 | kFlagSched2});
  // Like kube-router, its flags only apply to mh.
  auto sh = pick({{kAnnotationKubeRouterScheduler, "sh"}, {kAnnotationKubeRouterFlags, "flag-2"}});
  CHECK(sh.setting == SchedulerSetting{"sh", 0});
  CHECK(reasons(sh) == std::vector<std::string>{"scheduler_flag_ignored"});
  // Ours win.
  CHECK(pick({{kAnnotationKubeRouterScheduler, "lc"}, {kAnnotationScheduler, "wrr"}}).setting ==
        SchedulerSetting{"wrr", 0});
  auto bad = pick({{kAnnotationKubeRouterScheduler, "bogus"}});
  CHECK(bad.setting == SchedulerSetting{"rr", 0});
  CHECK(reasons(bad) == std::vector<std::string>{"bad_scheduler_annotation"});
}

TEST_CASE("Translation carries the scheduler and its diagnostics", "[scheduler]") {
  auto svc = service("ns", "web", {"10.0.0.1"}, {port("p", 80)});
  setPair(svc.annotations, std::string(kAnnotationScheduler), "sh");
  setPair(svc.annotations, std::string(kAnnotationSchedulerFlags), "sh-port,mh-port");
  const auto d = translate(svc, {}, node());
  REQUIRE(d.virtualServers.size() == 1);
  CHECK(d.virtualServers[0].server.scheduler == "sh");
  CHECK(d.virtualServers[0].server.flags == kFlagSched2);
  REQUIRE(d.diagnostics.size() == 1);
  CHECK(d.diagnostics[0].reason == "scheduler_flag_ignored");
}
