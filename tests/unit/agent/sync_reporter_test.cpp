// SyncReporter: a failed UDP conntrack cleanup gives one error line naming the Services
// and one count in ipvs_agent_failed_operations_total{operation="delete_conntrack"}; the sync
// line counts the operations another writer had already done (idempotent).

#include "agent/sync_reporter.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "agent/metrics_registry.h"

using namespace agent;

TEST_CASE("conntrack: a failed cleanup is logged once with its Services and counted",
          "[conntrack]") {
  const auto fixed = [] { return std::chrono::system_clock::time_point{}; };
  std::vector<std::string> lines;
  Logger log({0, [&](std::string_view line) { lines.emplace_back(line); }, fixed});
  MetricsRegistry registry;
  AgentMetrics metrics(registry);
  HealthState health(std::chrono::seconds(30), fixed);
  SyncReporter reporter(log.withComponent("sync"), metrics, health, nullptr);

  ipvs::DesiredState desired;
  reconcile::ClusterCache cluster;
  reconcile::SyncReport report(desired, cluster);
  report.result.conntrackFailure =
      reconcile::ConntrackFailure{{{"kube-system", "dns"}, {"ns", "syslog"}},
                                  std::make_error_code(std::errc::operation_not_permitted)};
  reporter.synced(report);

  std::vector<std::string> conntrackLines;
  for (const auto& l : lines)
    if (l.find("conntrack") != std::string::npos) conntrackLines.push_back(l);
  REQUIRE(conntrackLines.size() == 1);
  CHECK(conntrackLines[0].find("kube-system/dns,ns/syslog") != std::string::npos);
  CHECK(registry.render().find("ipvs_agent_failed_operations_total{error=\"EPERM\","
                               "operation=\"delete_conntrack\"} 1") != std::string::npos);
}

TEST_CASE("the sync line counts operations another writer had already done", "[sync-reporter]") {
  const auto fixed = [] { return std::chrono::system_clock::time_point{}; };
  std::vector<std::string> lines;
  Logger log({2, [&](std::string_view line) { lines.emplace_back(line); }, fixed});
  MetricsRegistry registry;
  AgentMetrics metrics(registry);
  HealthState health(std::chrono::seconds(30), fixed);
  SyncReporter reporter(log.withComponent("sync"), metrics, health, nullptr);

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
