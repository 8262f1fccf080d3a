// SyncReporter publishes kube-proxy's sync timestamps and /healthz state from the injected clock
// (the wall times are the ManualClock's, never the machine's), reports a failed UDP conntrack
// cleanup once naming its Services, and counts the operations another writer had already done.

#include "agent/sync_reporter.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "ipvs/clock.h"
#include "ipvs/desired_state.h"
#include "reconcile/cluster_cache.h"

using namespace agent;
using namespace std::chrono_literals;

namespace {

constexpr double kWallStart = 1714558830.0;  // ipvs::ManualClock::kDefaultWall in unix seconds

struct Harness {
  ipvs::ManualClock clock;
  std::vector<std::string> lines;
  MetricsRegistry registry;
  AgentMetrics metrics{registry};
  HealthState health{60s, clock};
  SyncReporter reporter{
      Logger(Logger::Options{0, [this](std::string_view l) { lines.emplace_back(l); }, &clock}),
      metrics, health, nullptr};
  ipvs::DesiredState desired;
  reconcile::ClusterCache cluster;

  void sync(bool observeFailed = false) {
    reconcile::SyncReport report(desired, cluster);
    report.started = clock.now();
    report.finished = clock.now();
    report.result.observeFailed = observeFailed;
    reporter.synced(report);
  }
};

}  // namespace

TEST_CASE("the queued and last-sync timestamps are the injected clock's wall time",
          "[sync_reporter]") {
  Harness h;
  h.reporter.changesQueued(1, 0);
  CHECK(h.metrics.syncProxyRulesLastQueuedTimestamp.value() == kWallStart);
  CHECK(h.metrics.syncProxyRulesLastTimestamp.value() == 0);

  h.clock.advance(2s);
  h.sync();
  CHECK(h.metrics.syncProxyRulesLastTimestamp.value() == kWallStart + 2);
  CHECK(h.metrics.syncProxyRulesLastQueuedTimestamp.value() == kWallStart);
  CHECK(h.health.status().lastUpdated == ipvs::ManualClock::kDefaultWall + 2s);
}

TEST_CASE("a sync that could not read the kernel leaves the timestamp and health pending",
          "[sync_reporter]") {
  Harness h;
  h.sync();
  h.reporter.changesQueued(1, 0);
  h.clock.advance(61s);
  h.sync(true);
  CHECK(h.metrics.syncProxyRulesLastTimestamp.value() == kWallStart);
  CHECK_FALSE(h.health.isHealthy());  // queued 61 s ago, past the 60 s timeout
  h.sync();
  CHECK(h.health.isHealthy());
  CHECK(h.metrics.syncProxyRulesLastTimestamp.value() == kWallStart + 61);
}

TEST_CASE("conntrack: a failed cleanup is logged once with its Services and counted",
          "[conntrack]") {
  Harness h;
  reconcile::SyncReport report(h.desired, h.cluster);
  report.result.conntrackFailure =
      reconcile::ConntrackFailure{{{"kube-system", "dns"}, {"ns", "syslog"}},
                                  std::make_error_code(std::errc::operation_not_permitted)};
  h.reporter.synced(report);

  std::vector<std::string> conntrackLines;
  for (const auto& l : h.lines)
    if (l.find("conntrack") != std::string::npos) conntrackLines.push_back(l);
  REQUIRE(conntrackLines.size() == 1);
  CHECK(conntrackLines[0].find("kube-system/dns,ns/syslog") != std::string::npos);
  CHECK(h.registry.render().find("ipvs_agent_failed_operations_total{error=\"EPERM\","
                                 "operation=\"delete_conntrack\"} 1") != std::string::npos);
}

TEST_CASE("pending changes and kernel operations by kind and result are published",
          "[sync_reporter]") {
  Harness h;
  h.reporter.changesQueued(2, 5);
  const std::string queued = h.registry.render();
  CHECK(queued.find("kubeproxy_sync_proxy_rules_service_changes_pending 2") != std::string::npos);
  CHECK(queued.find("kubeproxy_sync_proxy_rules_endpoint_changes_pending 5") != std::string::npos);

  reconcile::SyncReport report(h.desired, h.cluster);
  report.result.appliedByKind = {{"add_real_server", 3}, {"bind_address", 1}};
  report.result.failures.push_back(
      {ipvs::DeleteRealServer{}, std::make_error_code(std::errc::no_such_file_or_directory), {}});
  h.reporter.synced(report);
  const std::string synced = h.registry.render();
  CHECK(synced.find("kubeproxy_sync_proxy_rules_service_changes_pending 0") != std::string::npos);
  CHECK(synced.find("kubeproxy_sync_proxy_rules_endpoint_changes_pending 0") != std::string::npos);
  CHECK(synced.find(
            "ipvs_agent_netlink_operations_total{kind=\"add_real_server\",result=\"ok\"} 3") !=
        std::string::npos);
  CHECK(synced.find("ipvs_agent_netlink_operations_total{kind=\"bind_address\",result=\"ok\"} 1") !=
        std::string::npos);
  CHECK(synced.find("ipvs_agent_netlink_operations_total{kind=\"delete_real_server\","
                    "result=\"ENOENT\"} 1") != std::string::npos);
}

TEST_CASE("the sync line counts operations another writer had already done", "[sync_reporter]") {
  ipvs::ManualClock clock;
  std::vector<std::string> lines;
  MetricsRegistry registry;
  AgentMetrics metrics(registry);
  HealthState health(30s, clock);
  SyncReporter reporter(
      Logger(Logger::Options{2, [&](std::string_view line) { lines.emplace_back(line); }, &clock}),
      metrics, health, nullptr);

  ipvs::DesiredState desired;
  reconcile::ClusterCache cluster;
  reconcile::SyncReport report(desired, cluster);
  report.result.operations = 12;
  report.result.idempotent = 5;  // EEXIST on add / ENOENT on delete: already done, not failures
  reporter.synced(report);

  std::vector<std::string> syncLines;
  for (const auto& l : lines)
    if (l.find("msg=\"sync done\"") != std::string::npos) syncLines.push_back(l);
  REQUIRE(syncLines.size() == 1);
  CHECK(syncLines[0].find(" operations=12 idempotent=5 failed=0") != std::string::npos);
}

TEST_CASE("sync phases: every sync observes each phase, and start, list and wait only the first",
          "[sync_reporter][phases]") {
  Harness h;
  for (int i = 0; i < 2; ++i) {
    reconcile::SyncReport report(h.desired, h.cluster);
    report.first = i == 0;
    report.phases[reconcile::SyncPhase::kStart] = i == 0 ? 3s : 0s;
    report.phases[reconcile::SyncPhase::kList] = i == 0 ? 2s : 0s;
    report.phases[reconcile::SyncPhase::kWait] = i == 0 ? 250ms : 0s;
    report.phases[reconcile::SyncPhase::kIpvs] = 500ms;
    h.reporter.synced(report);
  }
  const std::string text = h.registry.render();
  const auto has = [&](const std::string& s) { return text.find(s) != std::string::npos; };
  CHECK(has("ipvs_agent_sync_phase_duration_seconds_sum{phase=\"start\"} 3\n"));
  CHECK(has("ipvs_agent_sync_phase_duration_seconds_count{phase=\"start\"} 1\n"));
  CHECK(has("ipvs_agent_sync_phase_duration_seconds_sum{phase=\"list\"} 2\n"));
  CHECK(has("ipvs_agent_sync_phase_duration_seconds_count{phase=\"list\"} 1\n"));
  CHECK(has("ipvs_agent_sync_phase_duration_seconds_sum{phase=\"wait\"} 0.25\n"));
  CHECK(has("ipvs_agent_sync_phase_duration_seconds_sum{phase=\"ipvs\"} 1\n"));
  CHECK(has("ipvs_agent_sync_phase_duration_seconds_count{phase=\"ipvs\"} 2\n"));
  CHECK(has("ipvs_agent_sync_phase_duration_seconds_count{phase=\"plan\"} 2\n"));
}

TEST_CASE("the heap is trimmed after the first sync and large plans only", "[sync_reporter]") {
  ipvs::DesiredState desired;
  reconcile::ClusterCache cluster;
  reconcile::SyncReport report(desired, cluster);
  report.result.operations = agent::kTrimHeapAfterOperations - 1;
  CHECK_FALSE(agent::worthTrimmingHeap(report));  // an ordinary endpoint change
  report.result.operations = agent::kTrimHeapAfterOperations;
  CHECK(agent::worthTrimmingHeap(report));
  report.result.operations = 0;
  report.result.full = true;  // a periodic resync reallocates what it frees next period
  CHECK_FALSE(agent::worthTrimmingHeap(report));
  report.first = true;
  CHECK(agent::worthTrimmingHeap(report));
}
